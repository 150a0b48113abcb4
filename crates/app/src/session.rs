//! Authentication: password login with server-side sessions, and API-key lookups for
//! signed requests. Failures never say which part was wrong.

use ferrostack_db::user::User;
use ferrostack_db::{alert as alert_db, db_err, domain as domain_db, session as session_db, user as user_db};
use ferrostack_types::ids::{new_uuid, UserId};
use ferrostack_types::state::{AccountEvent, AccountState, StateMachine};
use ferrostack_types::time::now_ms;
use ferrostack_types::EventType;
use ferrostack_types::{Error, RoleType};

use crate::event::{Level, State};
use crate::{password, App, Caller};

pub struct LoginResult {
    pub session_id: String,
    pub session_key: String,
    pub user: User,
}

/// How a login names the domain.
pub enum LoginDomain {
    Path(String),
    Uuid(String),
}

fn login_failed(username: &str, domain: &str) -> Error {
    Error::PermissionDenied(format!(
        "Failed to authenticate user {username} in domain {domain}; please provide valid credentials"
    ))
}

fn usable(u: &User) -> bool {
    u.state.can_log_in() && u.account_state.can_log_in()
}

/// The setting bounding failed logins in a row before a user is disabled.
pub const LOGIN_ATTEMPTS_SETTING: &str = "incorrect.login.attempts.allowed";

/// CloudStack's `ALERT_TYPE_MANAGMENT_NODE`: something at the management server needs an
/// operator (here: a user disabled by failed logins).
pub const ALERT_TYPE_LOGIN_LOCKOUT: i64 = 14;

/// What a password login comes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginCheck {
    /// The right password of a user that may log in.
    Accepted,
    /// The right password, but the user or its account is disabled or locked.
    Unusable,
    /// A wrong password for an existing user: counted against it.
    WrongPassword,
    /// No such user (or domain), no usable stored hash, or an empty password: not counted.
    Rejected,
}

/// Check password `pw` against the `stored` hash of a user (`None`: no such user) that may or
/// may not log in (`usable`). Whatever the outcome, `verify` runs exactly once and on a real
/// Argon2 hash — the user's, or [`password::DUMMY_HASH`] when there is none — so the time a
/// refusal takes says nothing about whether the user exists or is enabled.
pub fn check_login(
    stored: Option<&str>,
    usable: bool,
    pw: &str,
    verify: impl FnOnce(&str, &str) -> bool,
) -> LoginCheck {
    let real = stored.filter(|h| password::is_hash(h));
    let matched = verify(pw, real.unwrap_or(password::DUMMY_HASH));
    match (real, pw.is_empty(), matched, usable) {
        (None, _, _, _) | (Some(_), true, _, _) => LoginCheck::Rejected,
        (Some(_), false, true, true) => LoginCheck::Accepted,
        (Some(_), false, true, false) => LoginCheck::Unusable,
        (Some(_), false, false, _) => LoginCheck::WrongPassword,
    }
}

impl App {
    pub async fn session_login(&self, username: &str, pw: &str, domain: LoginDomain) -> Result<LoginResult, Error> {
        let (d, shown) = match &domain {
            LoginDomain::Uuid(u) => (domain_db::by_uuid(self.db.read(), u).await?, u.clone()),
            LoginDomain::Path(p) => (domain_db::by_path(self.db.read(), p).await?, p.clone()),
        };
        let u = match &d {
            Some(d) => user_db::by_username(self.db.read(), d.id(), username).await?,
            None => None,
        };
        let stored = match &u {
            Some(u) => user_db::password_hash(self.db.read(), u.id()).await?,
            None => None,
        };
        let shown = d.as_ref().map(|d| d.uuid.clone()).unwrap_or(shown);
        let may_log_in = u.as_ref().is_some_and(usable);
        let pw = pw.to_string();
        let check =
            tokio::task::spawn_blocking(move || check_login(stored.as_deref(), may_log_in, &pw, password::verify))
                .await
                .map_err(|e| Error::internal(format!("password check: {e}")))?;
        let (u, d) = match (check, u, d) {
            (LoginCheck::Accepted, Some(u), Some(d)) => (u, d),
            (LoginCheck::WrongPassword, Some(u), _) => {
                self.login_failure(&u).await?;
                return Err(login_failed(username, &shown));
            }
            (LoginCheck::Accepted | LoginCheck::Unusable | LoginCheck::WrongPassword | LoginCheck::Rejected, _, _) => {
                return Err(login_failed(username, &shown))
            }
        };
        let session_id = format!("{}.node0", password::random_token(24));
        let session_key = password::random_token(20);
        let mut tx = self.db.begin().await?;
        user_db::reset_login_attempts(&mut tx, u.id()).await?;
        session_db::insert(&mut tx, &session_id, &session_key, u.id(), now_ms()).await?;
        let caller = Caller::from_user(&u);
        self.event_done(
            &mut tx,
            &caller,
            EventType::UserLogin,
            format!("user has logged in from domain {}", d.display_path()),
            None,
        )
        .await?;
        tx.commit().await.map_err(db_err)?;
        Ok(LoginResult {
            session_id,
            session_key,
            user: u,
        })
    }

    /// Count a wrong password against `u`; at `incorrect.login.attempts.allowed` the user is
    /// disabled (its sessions end), with a USER.DISABLE event and an alert. As in CloudStack,
    /// root admin accounts are never disabled this way (so nobody can lock the operator out),
    /// a value of 0 turns the lockout off, and only enabled users are counted.
    async fn login_failure(&self, u: &User) -> Result<(), Error> {
        if u.role_type() == RoleType::Admin {
            return Ok(());
        }
        let allowed = self.config_i64(LOGIN_ATTEMPTS_SETTING, None).await?;
        if allowed <= 0 {
            return Ok(());
        }
        let mut tx = self.db.begin().await?;
        let Some(attempts) = user_db::count_failed_login(&mut tx, u.id()).await? else {
            return tx.commit().await.map_err(db_err);
        };
        if attempts < allowed {
            tx.commit().await.map_err(db_err)?;
            tracing::info!(user = %u.uuid, attempts, allowed, "failed login");
            return Ok(());
        }
        let to = AccountState::Enabled.transition(AccountEvent::Disable)?;
        // A lost swap: a concurrent failure (or an administrator) changed the state first.
        if user_db::set_state(&mut tx, u.id(), AccountState::Enabled, to).await? {
            session_db::delete_for_user(&mut *tx, u.id()).await?;
            let text = format!(
                "User {} of account {} in domain {} was disabled after {attempts} failed login attempts \
                 ({LOGIN_ATTEMPTS_SETTING} = {allowed}); an administrator re-enables it with enableUser",
                u.username, u.account_name, u.domain_path
            );
            alert_db::insert(
                &mut tx,
                alert_db::NewAlert {
                    uuid: &new_uuid(),
                    alert_type: ALERT_TYPE_LOGIN_LOCKOUT,
                    name: "ALERT.USER.LOCKOUT",
                    subject: &text,
                    zone_id: None,
                    pod_id: None,
                    cluster_id: None,
                    host_id: None,
                    now: now_ms(),
                },
            )
            .await?;
            self.event_record(
                &mut tx,
                &Caller::from_user(u),
                EventType::UserDisable,
                Level::Warn,
                State::Completed,
                text,
                Some(&crate::user::resource(u)),
                None,
            )
            .await?;
            tracing::warn!(user = %u.uuid, attempts, "user disabled after failed logins");
        }
        tx.commit().await.map_err(db_err)
    }

    /// Resolve a session: the JSESSIONID value and the session key presented with it.
    pub async fn session_caller(&self, session_id: &str, session_key: &str) -> Result<Caller, Error> {
        let unauthorized = || Error::Unauthorized("unable to verify user credentials".into());
        let s = session_db::get(self.db.read(), session_id)
            .await?
            .ok_or_else(unauthorized)?;
        let now = now_ms();
        let expired = now - s.last_access > self.config.session_timeout_secs * 1000;
        if expired || !constant_eq(&s.session_key, session_key) {
            if expired {
                session_db::delete(self.db.write(), session_id).await?;
            }
            return Err(unauthorized());
        }
        let u = user_db::get(self.db.read(), UserId(s.user_id))
            .await?
            .filter(usable)
            .ok_or_else(unauthorized)?;
        if now - s.last_access > 30_000 {
            session_db::touch(self.db.write(), session_id, now).await?;
        }
        Ok(Caller::from_user(&u))
    }

    /// End the session `session_id`, presented with its session key like every other command
    /// (a cookie alone must not log a session out: CSRF). A session that is already gone is
    /// logged out.
    pub async fn session_logout(&self, session_id: &str, session_key: &str) -> Result<(), Error> {
        let Some(s) = session_db::get(self.db.read(), session_id).await? else {
            return Ok(());
        };
        if !constant_eq(&s.session_key, session_key) {
            return Err(Error::Unauthorized("unable to verify user credentials".into()));
        }
        session_db::delete(self.db.write(), session_id).await?;
        if let Some(u) = user_db::get(self.db.read(), UserId(s.user_id)).await? {
            let mut tx = self.db.begin().await?;
            self.event_done(
                &mut tx,
                &Caller::from_user(&u),
                EventType::UserLogout,
                "user has logged out",
                None,
            )
            .await?;
            tx.commit().await.map_err(db_err)?;
        }
        Ok(())
    }

    /// The user and secret key behind an API key, if the user may call the API.
    pub async fn session_key_owner(&self, api_key: &str) -> Result<Option<(Caller, String)>, Error> {
        let Some(u) = user_db::by_api_key(self.db.read(), api_key).await? else {
            return Ok(None);
        };
        if !usable(&u) {
            return Ok(None);
        }
        let Some((_, secret)) = user_db::keys(self.db.read(), u.id()).await? else {
            return Ok(None);
        };
        Ok(Some((Caller::from_user(&u), secret)))
    }
}

fn constant_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Run `check_login` with a counting verifier; return the outcome and the hashes verified.
    fn counted(stored: Option<&str>, usable: bool, pw: &str, answer: bool) -> (LoginCheck, Vec<String>) {
        let mut seen = Vec::new();
        let out = check_login(stored, usable, pw, |_, h| {
            seen.push(h.to_string());
            answer
        });
        (out, seen)
    }

    #[test]
    fn every_outcome_verifies_exactly_one_real_hash() {
        let real = password::DUMMY_HASH.replace("uKKd6", "AAAAA");
        let dummy = password::DUMMY_HASH.to_string();
        // (stored hash, usable, password, verifier's answer, outcome, hash verified)
        type Case<'a> = (Option<&'a str>, bool, &'a str, bool, LoginCheck, &'a str);
        let cases: [Case; 9] = [
            (Some(&real), true, "pw", true, LoginCheck::Accepted, &real),
            (Some(&real), false, "pw", true, LoginCheck::Unusable, &real),
            (Some(&real), true, "pw", false, LoginCheck::WrongPassword, &real),
            (Some(&real), false, "pw", false, LoginCheck::WrongPassword, &real),
            (Some(&real), true, "", false, LoginCheck::Rejected, &real),
            // Unknown user: the dummy is verified, and even a "match" is refused.
            (None, false, "pw", false, LoginCheck::Rejected, &dummy),
            (None, false, "pw", true, LoginCheck::Rejected, &dummy),
            (None, false, "", false, LoginCheck::Rejected, &dummy),
            // A stored value that is not a hash (the system user's `!`): the dummy, refused.
            (Some("!"), true, "pw", true, LoginCheck::Rejected, &dummy),
        ];
        for (stored, usable, pw, answer, want, hash) in cases {
            let (out, seen) = counted(stored, usable, pw, answer);
            assert_eq!(out, want, "{stored:?} {usable} {pw:?} {answer}");
            assert_eq!(seen, vec![hash.to_string()], "{stored:?} {usable} {pw:?} {answer}");
        }
    }

    #[test]
    fn unknown_user_runs_the_real_argon2_check() {
        // With the real verifier the dummy takes the same path as a real hash: parsed and
        // computed (it does not fail early on a malformed string), and it matches nothing.
        let t = std::time::Instant::now();
        assert_eq!(
            check_login(None, false, "password", password::verify),
            LoginCheck::Rejected
        );
        let dummy = t.elapsed();
        let real = password::hash("password").unwrap();
        let t = std::time::Instant::now();
        assert_eq!(
            check_login(Some(&real), true, "wrong", password::verify),
            LoginCheck::WrongPassword
        );
        let wrong = t.elapsed();
        // Not a timing assertion (machines vary): a number for whoever reads the output.
        println!("dummy check {dummy:?}, wrong-password check {wrong:?}");
    }
}
