//! SSH key pairs: `createSSHKeyPair` (generated here: RSA 2048, the private key returned
//! once as PKCS#1 PEM and never stored), `registerSSHKeyPair` (an OpenSSH public key),
//! `listSSHKeyPairs`, `deleteSSHKeyPair`. The fingerprint is CloudStack's: MD5 of the key
//! blob in colon-separated lowercase hex. Public keys are kept for VMs and config drives
//! ([`App::sshkey_public_keys`]).

use ferrostack_db::sshkey::{self as sshkey_db, KeyPairFilter, SshKeyPair};
use ferrostack_db::{db_err, Conn};
use ferrostack_types::ids::new_uuid;
use ferrostack_types::time::now_ms;
use ferrostack_types::EventType;
use ferrostack_types::{Error, Page};
use md5::{Digest, Md5};

use crate::access::ListScope;
use crate::event::Resource;
use crate::userdata::OwnerRef;
use crate::{App, Caller};

// Event types this module records. CloudStack's EventTypes has only `REGISTER.SSH.KEYPAIR`
// (used for both create and register); deletion has no CloudStack type and is recorded
// under `DELETE.SSH.KEYPAIR`.

/// RSA modulus size of generated pairs (CloudStack's `ssh.key.length` default).
pub const RSA_BITS: usize = 2048;

pub fn resource(k: &SshKeyPair) -> Resource {
    Resource {
        kind: "SSHKeyPair",
        uuid: k.uuid.clone(),
        name: k.name.clone(),
    }
}

/// A parsed public key: the OpenSSH line as stored and its fingerprint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedKey {
    pub openssh: String,
    pub fingerprint: String,
}

/// MD5 of the raw key blob, `aa:bb:…` (CloudStack's `SSHKeysHelper.getPublicKeyFingerprint`).
pub fn md5_fingerprint(blob: &[u8]) -> String {
    Md5::digest(blob)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

fn invalid_key(why: &str) -> Error {
    Error::invalid(format!(
        "Public key is invalid ({why}); give one line in OpenSSH format, \"<type> <base64> [comment]\" with type \
         ssh-rsa, ssh-ed25519 or ecdsa-sha2-nistp256/384/521, as in a .pub file or authorized_keys"
    ))
}

/// Parse and check an OpenSSH public key line (ssh-rsa, ecdsa-sha2-*, ssh-ed25519).
pub fn parse_public_key(text: &str) -> Result<ParsedKey, Error> {
    let line = text.trim();
    if line.is_empty() {
        return Err(invalid_key("it is empty"));
    }
    if line.contains('\n') || line.contains('\r') {
        return Err(invalid_key("it spans several lines"));
    }
    let key = ssh_key::PublicKey::from_openssh(line).map_err(|e| invalid_key(&e.to_string()))?;
    let data = key.key_data();
    if !(data.is_rsa() || data.is_ecdsa() || data.is_ed25519()) {
        return Err(invalid_key(&format!(
            "key type {} is not supported",
            key.algorithm().as_str()
        )));
    }
    if let Some(rsa) = key.key_data().rsa() {
        let bits = rsa.n.as_positive_bytes().map(|b| b.len() * 8).unwrap_or(0);
        if bits < 1024 {
            return Err(invalid_key("RSA keys must have at least 1024 bits"));
        }
    }
    let blob = key.to_bytes().map_err(|e| invalid_key(&e.to_string()))?;
    Ok(ParsedKey {
        openssh: line.split_whitespace().collect::<Vec<_>>().join(" "),
        fingerprint: md5_fingerprint(&blob),
    })
}

/// Generate an RSA key pair: (OpenSSH public key, PKCS#1 PEM private key).
pub fn generate_rsa(bits: usize) -> Result<(ParsedKey, String), Error> {
    use rsa::pkcs1::{EncodeRsaPrivateKey, LineEnding};
    use rsa::traits::PublicKeyParts;
    let private = rsa::RsaPrivateKey::new(&mut rand::rngs::OsRng, bits)
        .map_err(|e| Error::internal(format!("RSA key generation failed: {e}")))?;
    let pem = private
        .to_pkcs1_pem(LineEnding::LF)
        .map_err(|e| Error::internal(format!("PEM encoding of a generated key failed: {e}")))?;
    let mpint = |b: Vec<u8>| {
        ssh_key::Mpint::from_positive_bytes(&b).map_err(|e| Error::internal(format!("generated key: {e}")))
    };
    let public = ssh_key::public::RsaPublicKey {
        e: mpint(private.e().to_bytes_be())?,
        n: mpint(private.n().to_bytes_be())?,
    };
    let key = ssh_key::PublicKey::new(ssh_key::public::KeyData::Rsa(public), "");
    let openssh = key
        .to_openssh()
        .map_err(|e| Error::internal(format!("generated key: {e}")))?;
    let parsed = parse_public_key(&openssh)?;
    Ok((parsed, pem.to_string()))
}

fn check_name(name: &str) -> Result<String, Error> {
    let n = name.trim();
    if n.is_empty() {
        return Err(Error::invalid(
            "Please specify a valid name for the key pair. The key name can't be empty",
        ));
    }
    Ok(n.to_string())
}

impl App {
    /// `createSSHKeyPair`: a new RSA pair; the answer's private key is the only copy.
    pub async fn sshkey_create(
        &self,
        caller: &Caller,
        name: &str,
        owner: &OwnerRef,
    ) -> Result<(SshKeyPair, String), Error> {
        let name = check_name(name)?;
        let (parsed, private_pem) = tokio::task::spawn_blocking(|| generate_rsa(RSA_BITS))
            .await
            .map_err(|e| Error::internal(format!("key generation task: {e}")))??;
        let k = self.sshkey_store(caller, &name, owner, &parsed, false).await?;
        Ok((k, private_pem))
    }

    /// `registerSSHKeyPair`: store a given public key.
    pub async fn sshkey_register(
        &self,
        caller: &Caller,
        name: &str,
        public_key: &str,
        owner: &OwnerRef,
    ) -> Result<SshKeyPair, Error> {
        let name = check_name(name)?;
        let parsed = parse_public_key(public_key)?;
        self.sshkey_store(caller, &name, owner, &parsed, true).await
    }

    async fn sshkey_store(
        &self,
        caller: &Caller,
        name: &str,
        owner: &OwnerRef,
        key: &ParsedKey,
        registered: bool,
    ) -> Result<SshKeyPair, Error> {
        let mut tx = self.db.begin().await?;
        let owner = self.owner_resolve(&mut tx, caller, owner).await?;
        if sshkey_db::by_name(&mut tx, owner.id(), name).await?.is_some() {
            return Err(Error::invalid(if registered {
                format!("A key pair with name '{name}' already exists for this account.")
            } else {
                format!("A key pair with name '{name}' already exists.")
            }));
        }
        if let Some(other) = sshkey_db::by_fingerprint(&mut tx, owner.id(), &key.fingerprint).await? {
            return Err(Error::invalid(format!(
                "A key pair with the same public key (fingerprint {}) already exists for this account: '{}'",
                key.fingerprint, other.name
            )));
        }
        let uuid = new_uuid();
        let id = sshkey_db::insert(
            &mut tx,
            sshkey_db::NewKeyPair {
                uuid: &uuid,
                name,
                account_id: owner.id(),
                domain_id: owner.domain_id(),
                public_key: &key.openssh,
                fingerprint: &key.fingerprint,
                now: now_ms(),
            },
        )
        .await?;
        let k = sshkey_db::get(&mut tx, id)
            .await?
            .ok_or_else(|| Error::internal("key pair vanished"))?;
        let verb = if registered { "Registered" } else { "Created" };
        self.event_done(
            &mut tx,
            caller,
            EventType::RegisterSshKeypair,
            format!("{verb} SSH key pair {} for account {}", k.name, k.account_name),
            Some(&resource(&k)),
        )
        .await?;
        tx.commit().await.map_err(db_err)?;
        Ok(k)
    }

    pub async fn sshkey_list(
        &self,
        caller: &Caller,
        scope: &ListScope,
        project: Option<&str>,
        f: &KeyPairFilter,
        page: Page,
    ) -> Result<(i64, Vec<SshKeyPair>), Error> {
        if project.is_some() {
            // No projects exist here, so no key pair belongs to one.
            return Ok((0, Vec::new()));
        }
        let mut c = self.db.conn().await?;
        let owner = self.owner_scope(&mut c, caller, scope).await?;
        sshkey_db::list(&mut c, &owner, f, page).await
    }

    /// `deleteSSHKeyPair`: by name in the caller's (or the given) account.
    pub async fn sshkey_delete(&self, caller: &Caller, name: &str, owner: &OwnerRef) -> Result<(), Error> {
        let mut tx = self.db.begin().await?;
        let owner = self.owner_resolve(&mut tx, caller, owner).await?;
        let k = sshkey_db::by_name(&mut tx, owner.id(), name).await?.ok_or_else(|| {
            Error::invalid(format!(
                "A key pair with name '{name}' does not exist for account {} in specified domain id",
                owner.name
            ))
        })?;
        ferrostack_db::tag::forget(&mut tx, ferrostack_db::tag::ResourceType::SshKeyPair, &[k.id]).await?;
        sshkey_db::delete(&mut tx, k.id).await?;
        self.event_done(
            &mut tx,
            caller,
            EventType::DeleteSshKeypair,
            format!("Deleted SSH key pair {} of account {}", k.name, k.account_name),
            Some(&resource(&k)),
        )
        .await?;
        tx.commit().await.map_err(db_err)?;
        Ok(())
    }

    /// The public keys of the named key pairs of an account, in the order asked (for VM
    /// deployment and config drives). An unknown name is a 431 naming the key and account.
    pub async fn sshkey_public_keys(
        &self,
        c: &mut Conn,
        account_id: i64,
        names: &[String],
    ) -> Result<Vec<(String, String)>, Error> {
        let account = ferrostack_types::ids::AccountId(account_id);
        let found = sshkey_db::by_names(c, account, names).await?;
        let mut out = Vec::with_capacity(names.len());
        for n in names {
            match found.iter().find(|k| &k.name == n) {
                Some(k) => out.push((k.name.clone(), k.public_key.clone())),
                None => {
                    let who = ferrostack_db::account::get(&mut *c, account)
                        .await?
                        .map(|a| a.name)
                        .unwrap_or_else(|| format!("id {account_id}"));
                    return Err(Error::invalid(format!(
                        "A key pair with name '{n}' does not exist for account {who}; register it with \
                         registerSSHKeyPair or create it with createSSHKeyPair first"
                    )));
                }
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ED25519: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAILM+rvN+ot98qgEN796jTiQfZfG1KaT0PtFDJ/XFSqti foo@bar.com";

    #[test]
    fn parses_ed25519_and_fingerprints_with_md5() {
        let k = parse_public_key(&format!("  {ED25519}\n")).unwrap();
        assert_eq!(k.openssh, ED25519);
        let parts: Vec<&str> = k.fingerprint.split(':').collect();
        assert_eq!(parts.len(), 16);
        assert!(parts
            .iter()
            .all(|p| p.len() == 2 && p.chars().all(|c| c.is_ascii_hexdigit())));
        assert_eq!(k.fingerprint, k.fingerprint.to_lowercase());
    }

    #[test]
    fn fingerprint_is_md5_of_the_blob() {
        // `ssh-keygen -l -E md5` of the empty input is MD5(""), a well-known value.
        assert_eq!(md5_fingerprint(b""), "d4:1d:8c:d9:8f:00:b2:04:e9:80:09:98:ec:f8:42:7e");
    }

    #[test]
    fn rejects_garbage_and_mismatched_types() {
        for bad in [
            "",
            "hello",
            "ssh-rsa notbase64!!!",
            "ssh-rsa AAAAC3NzaC1lZDI1NTE5AAAAILM+rvN+ot98qgEN796jTiQfZfG1KaT0PtFDJ/XFSqti",
            "ssh-ed25519 AAAA",
            "-----BEGIN RSA PRIVATE KEY-----",
        ] {
            let e = parse_public_key(bad).unwrap_err();
            assert_eq!(e.http_status(), 431, "{bad}");
            assert!(e.to_string().contains("OpenSSH format"), "{e}");
        }
    }

    #[test]
    fn generated_rsa_pair_round_trips() {
        let (k, pem) = generate_rsa(RSA_BITS).unwrap();
        assert!(k.openssh.starts_with("ssh-rsa AAAA"));
        assert!(pem.starts_with("-----BEGIN RSA PRIVATE KEY-----"));
        assert!(pem.trim_end().ends_with("-----END RSA PRIVATE KEY-----"));
        assert_eq!(parse_public_key(&k.openssh).unwrap(), k);
    }
}
