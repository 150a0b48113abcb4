//! First start: the ROOT domain, the default roles, the `system` and `admin` accounts, and the
//! `admin` user with CloudStack's conventional password, so unconfigured clients connect.

use ferrostack_db::{account, domain, role, user, Db};
use ferrostack_types::ids::new_uuid;
use ferrostack_types::time::now_ms;
use ferrostack_types::{AccountType, Error, RoleType};

use crate::password;

pub const DEFAULT_ADMIN_PASSWORD: &str = "password";

/// Seed the database if it is empty. Idempotent.
pub async fn seed(db: &Db) -> Result<(), Error> {
    let mut tx = db.begin().await?;
    if domain::root(&mut *tx).await?.is_some() {
        return Ok(());
    }
    crate::offering::seed(&mut tx).await?;
    crate::template::seed(&mut tx).await?;
    crate::netoffering::seed(&mut tx).await?;
    let now = now_ms();
    let root_uuid = new_uuid();
    let root_id = domain::insert(
        &mut tx,
        domain::NewDomain {
            uuid: &root_uuid,
            name: "ROOT",
            parent: None,
            network_domain: None,
            now,
        },
    )
    .await?;
    for (name, t, description) in role::DEFAULTS {
        role::insert(&mut tx, &new_uuid(), name, t, description).await?;
    }
    let admin_role = role::default_for(&mut *tx, RoleType::Admin).await?;
    for (name, is_admin_login) in [("system", false), ("admin", true)] {
        let account_uuid = new_uuid();
        let account_id = account::insert(
            &mut tx,
            account::NewAccount {
                uuid: &account_uuid,
                name,
                domain_id: root_id,
                account_type: AccountType::Admin,
                role_id: admin_role.id,
                network_domain: None,
                is_default: true,
                now,
            },
        )
        .await?;
        // The system user can never log in: its password hash is not a valid hash.
        let hash = if is_admin_login {
            password::hash(DEFAULT_ADMIN_PASSWORD)?
        } else {
            "!".to_string()
        };
        user::insert(
            &mut tx,
            user::NewUser {
                uuid: &new_uuid(),
                account_id,
                domain_id: root_id,
                username: name,
                password_hash: &hash,
                firstname: if is_admin_login { "admin" } else { "system" },
                lastname: "cloud",
                email: None,
                timezone: None,
                is_default: true,
                now,
            },
        )
        .await?;
    }
    tx.commit().await.map_err(ferrostack_db::db_err)?;
    tracing::info!("seeded the ROOT domain and the admin account (user admin, password 'password')");
    Ok(())
}

/// True while the root admin still has the default password.
pub async fn admin_password_is_default(db: &Db) -> Result<bool, Error> {
    let Some(root) = domain::root(db.read()).await? else {
        return Ok(false);
    };
    let Some(admin) = user::by_username(db.read(), root.id(), "admin").await? else {
        return Ok(false);
    };
    let Some(hash) = user::password_hash(db.read(), admin.id()).await? else {
        return Ok(false);
    };
    Ok(password::verify(DEFAULT_ADMIN_PASSWORD, &hash))
}

/// Set the password of a user by domain path and username (the `set-password` subcommand).
pub async fn set_password(db: &Db, domain_path: &str, username: &str, new_password: &str) -> Result<(), Error> {
    let d = domain::by_path(db.read(), domain_path)
        .await?
        .ok_or_else(|| Error::invalid(format!("no domain with path {domain_path}")))?;
    let u = user::by_username(db.read(), d.id(), username)
        .await?
        .ok_or_else(|| Error::invalid(format!("no user {username} in domain {}", d.display_path())))?;
    crate::user::check_password_strength(new_password)?;
    let hash = password::hash(new_password)?;
    let mut tx = db.begin().await?;
    user::set_password(&mut tx, u.id(), &hash).await?;
    ferrostack_db::session::delete_for_user(&mut *tx, u.id()).await?;
    tx.commit().await.map_err(ferrostack_db::db_err)
}
