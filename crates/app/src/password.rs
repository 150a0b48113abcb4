//! Password hashing (Argon2id, PHC strings) and random secrets.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use base64::Engine as _;
use ferrostack_types::Error;
use rand::RngCore;

pub fn hash(password: &str) -> Result<String, Error> {
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| Error::internal(format!("password hashing failed: {e}")))
}

/// An Argon2id hash of a random password nobody knows, with the parameters [`hash`] uses. A
/// login for a user that does not exist (or has no usable hash) is verified against it, so that
/// it costs the same time as a login with a wrong password.
pub const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$uKKd6/mS5+zZW7xJJXZfGg$4E8uDJF46jBclLo3SqC0CG3hmaeZr3lTheHdfGZfvN8";

/// Whether `stored` is a hash [`verify`] can check (the system user's `!` is not).
pub fn is_hash(stored: &str) -> bool {
    PasswordHash::new(stored).is_ok()
}

pub fn verify(password: &str, stored: &str) -> bool {
    match PasswordHash::new(stored) {
        Ok(h) => Argon2::default().verify_password(password.as_bytes(), &h).is_ok(),
        Err(_) => false,
    }
}

/// `n` random bytes, URL-safe base64 without padding.
pub fn random_token(n: usize) -> String {
    let mut b = vec![0u8; n];
    rand::rngs::OsRng.fill_bytes(&mut b);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

#[cfg(test)]
mod tests {
    #[test]
    fn hashes_verify_and_are_salted() {
        let a = super::hash("pw").unwrap();
        let b = super::hash("pw").unwrap();
        assert_ne!(a, b);
        assert!(super::verify("pw", &a));
        assert!(!super::verify("other", &a));
        assert!(!super::verify("pw", "not-a-hash"));
        assert_eq!(super::random_token(20).len(), 27);
    }

    /// The dummy costs what a real hash costs: same algorithm, version and parameters.
    #[test]
    fn dummy_hash_has_the_parameters_of_real_hashes() {
        use argon2::password_hash::PasswordHash;
        let real = super::hash("pw").unwrap();
        let (real, dummy) = (
            PasswordHash::new(&real).unwrap(),
            PasswordHash::new(super::DUMMY_HASH).unwrap(),
        );
        assert_eq!(real.algorithm, dummy.algorithm);
        assert_eq!(real.version, dummy.version);
        assert_eq!(real.params, dummy.params);
        assert_eq!(real.hash.map(|h| h.len()), dummy.hash.map(|h| h.len()));
        assert!(super::is_hash(super::DUMMY_HASH) && !super::is_hash("!"));
    }
}
