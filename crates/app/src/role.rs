//! Roles (static role types; CloudStack's four defaults).

use ferrostack_db::role::{self as role_db, Role, RoleFilter};
use ferrostack_types::Error;

use crate::{App, Caller};

impl App {
    /// Roles visible to the caller: those whose type is not above the caller's.
    pub async fn role_list(&self, caller: &Caller, mut f: RoleFilter) -> Result<Vec<Role>, Error> {
        f.max_type = Some(caller.role);
        let mut c = self.db.conn().await?;
        role_db::list(&mut c, &f).await
    }
}
