//! Authentication: password login with server-side sessions, and API-key lookups for
//! signed requests. Failures never say which part was wrong.

use ferrostack_db::{db_err, domain as domain_db, session as session_db, user as user_db};
use ferrostack_types::ids::UserId;
use ferrostack_types::time::now_ms;
use ferrostack_types::Error;
use ferrostack_types::EventType;

use crate::{password, App, Caller};

pub struct LoginResult {
    pub session_id: String,
    pub session_key: String,
    pub user: ferrostack_db::user::User,
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

fn usable(u: &ferrostack_db::user::User) -> bool {
    u.state.can_log_in() && u.account_state.can_log_in()
}

impl App {
    pub async fn session_login(&self, username: &str, pw: &str, domain: LoginDomain) -> Result<LoginResult, Error> {
        let (d, shown) = match &domain {
            LoginDomain::Uuid(u) => (domain_db::by_uuid(self.db.read(), u).await?, u.clone()),
            LoginDomain::Path(p) => (domain_db::by_path(self.db.read(), p).await?, p.clone()),
        };
        let d = d.ok_or_else(|| login_failed(username, &shown))?;
        let u = user_db::by_username(self.db.read(), d.id(), username)
            .await?
            .ok_or_else(|| login_failed(username, &d.uuid))?;
        if pw.is_empty() || !usable(&u) {
            return Err(login_failed(username, &d.uuid));
        }
        let hash = user_db::password_hash(self.db.read(), u.id())
            .await?
            .unwrap_or_default();
        let pw = pw.to_string();
        let ok = tokio::task::spawn_blocking(move || password::verify(&pw, &hash))
            .await
            .map_err(|e| Error::internal(format!("password check: {e}")))?;
        if !ok {
            return Err(login_failed(username, &d.uuid));
        }
        let session_id = format!("{}.node0", password::random_token(24));
        let session_key = password::random_token(20);
        let mut tx = self.db.begin().await?;
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

    pub async fn session_logout(&self, session_id: &str) -> Result<(), Error> {
        let Some(s) = session_db::get(self.db.read(), session_id).await? else {
            return Ok(());
        };
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
