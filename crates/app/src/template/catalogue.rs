//! The guest OS catalogue (`listOsTypes`, `listOsCategories`) and the first-start seeds:
//! CloudStack-like OS categories and types, and the simulator's system VM and built-in
//! templates (cross-zone, owned by the system).

use ferrostack_db::template::{self as template_db, CategoryFilter, GuestOs, GuestOsCategory, OsFilter};
use ferrostack_db::Conn;
use ferrostack_types::ids::new_uuid;
use ferrostack_types::time::now_ms;
use ferrostack_types::{Error, Page};

use super::SIMULATED_SIZE;
use crate::App;

/// The guest OS catalogue: (category, featured, OS types).
const OS_CATALOGUE: &[(&str, bool, &[&str])] = &[
    (
        "CentOS",
        true,
        &["CentOS 5.3 (64-bit)", "CentOS 6.5 (64-bit)", "CentOS 7", "CentOS 8"],
    ),
    (
        "Debian",
        true,
        &[
            "Debian GNU/Linux 7(64-bit)",
            "Debian GNU/Linux 10 (64-bit)",
            "Debian GNU/Linux 11 (64-bit)",
            "Debian GNU/Linux 12 (64-bit)",
        ],
    ),
    (
        "Oracle",
        false,
        &[
            "Oracle Enterprise Linux 6.5 (64-bit)",
            "Oracle Linux 8",
            "Oracle Linux 9",
        ],
    ),
    (
        "RedHat",
        true,
        &[
            "Red Hat Enterprise Linux 7",
            "Red Hat Enterprise Linux 8",
            "Red Hat Enterprise Linux 9",
        ],
    ),
    (
        "SUSE",
        false,
        &[
            "SUSE Linux Enterprise Server 12 SP5 (64-bit)",
            "SUSE Linux Enterprise Server 15 (64-bit)",
        ],
    ),
    (
        "Windows",
        true,
        &[
            "Windows 10 (64-bit)",
            "Windows 11 (64-bit)",
            "Windows Server 2019 (64-bit)",
            "Windows Server 2022 (64-bit)",
        ],
    ),
    (
        "Other",
        false,
        &[
            "Other (32-bit)",
            "Other (64-bit)",
            "Other Linux (32-bit)",
            "Other Linux (64-bit)",
            "Other PV (64-bit)",
        ],
    ),
    ("Novel", false, &["Novell Netware 6.x"]),
    (
        "Unix",
        false,
        &["FreeBSD 12 (64-bit)", "FreeBSD 13 (64-bit)", "Sun Solaris 11 (64-bit)"],
    ),
    (
        "Ubuntu",
        true,
        &[
            "Ubuntu 18.04 LTS",
            "Ubuntu 20.04 LTS",
            "Ubuntu 22.04 LTS",
            "Ubuntu 24.04 LTS",
        ],
    ),
    ("Apple", false, &["Apple Mac OS X 10.6 (64-bit)"]),
];

/// CloudStack's simulator templates: (name, type, OS, featured+public, url).
const SEED_TEMPLATES: &[(&str, &str, &str, bool, &str)] = &[
    (
        "SystemVM Template (simulator)",
        "SYSTEM",
        "Debian GNU/Linux 7(64-bit)",
        false,
        "http://download.cloudstack.org/templates/4.2/systemvmtemplate-2013-06-04-master-kvm.qcow2.bz2",
    ),
    (
        "CentOS 5.3(64-bit) no GUI (Simulator)",
        "BUILTIN",
        "CentOS 5.3 (64-bit)",
        true,
        "http://download.cloudstack.org/templates/builtin/centos56-x86_64.vhd.bz2",
    ),
];

/// Seed the OS catalogue and the default simulator templates (first start; idempotent).
pub async fn seed(c: &mut Conn) -> Result<(), Error> {
    if template_db::count_categories(c).await? > 0 {
        return Ok(());
    }
    let now = now_ms();
    for (category, featured, types) in OS_CATALOGUE {
        let cat = template_db::insert_category(c, &new_uuid(), category, *featured, now).await?;
        for os in *types {
            template_db::insert_os(c, &new_uuid(), cat, os, now).await?;
        }
    }
    for (name, template_type, os, featured, url) in SEED_TEMPLATES {
        let os = template_db::os_by_display_name(&mut *c, os)
            .await?
            .ok_or_else(|| Error::internal(format!("seed OS type {os} missing")))?;
        template_db::insert(
            c,
            template_db::NewTemplate {
                uuid: &new_uuid(),
                name,
                display_text: name,
                template_type,
                format: "VHD",
                hypervisor: "Simulator",
                url,
                checksum: None,
                guest_os_id: os.id,
                account_id: None,
                domain_id: None,
                is_public: *featured,
                is_featured: *featured,
                is_extractable: *featured,
                password_enabled: false,
                sshkey_enabled: false,
                requires_hvm: *template_type != "SYSTEM",
                dynamically_scalable: false,
                direct_download: false,
                cross_zones: true,
                bootable: true,
                bits: 64,
                template_tag: None,
                details: "{}",
                size: SIMULATED_SIZE,
                now,
            },
        )
        .await?;
    }
    Ok(())
}

impl App {
    /// `listOsTypes`; `id` and `oscategoryid` are uuids.
    pub async fn os_type_list(
        &self,
        mut f: OsFilter,
        id: Option<&str>,
        category: Option<&str>,
        page: Page,
    ) -> Result<(i64, Vec<GuestOs>), Error> {
        let mut c = self.db.conn().await?;
        if let Some(uuid) = id {
            let os = template_db::os_by_uuid(&mut *c, uuid)
                .await?
                .ok_or_else(|| Error::unknown_entity("id", uuid))?;
            f.id = Some(os.id);
        }
        if let Some(uuid) = category {
            let cat = template_db::category_by_uuid(&mut *c, uuid)
                .await?
                .ok_or_else(|| Error::unknown_entity("oscategoryid", uuid))?;
            f.category_id = Some(cat.id);
        }
        template_db::list_os(&mut c, &f, page).await
    }

    /// `listOsCategories`.
    pub async fn os_category_list(
        &self,
        mut f: CategoryFilter,
        id: Option<&str>,
        page: Page,
    ) -> Result<(i64, Vec<GuestOsCategory>), Error> {
        let mut c = self.db.conn().await?;
        if let Some(uuid) = id {
            let cat = template_db::category_by_uuid(&mut *c, uuid)
                .await?
                .ok_or_else(|| Error::unknown_entity("id", uuid))?;
            f.id = Some(cat.id);
        }
        template_db::list_categories(&mut c, &f, page).await
    }
}
