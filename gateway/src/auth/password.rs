//! Password hashing (argon2id, the `argon2` crate's defaults: 19 MiB,
//! 2 passes) and generated one-time passwords.
//!
//! Hashing and verifying take tens of milliseconds of CPU and 19 MiB of
//! memory each on purpose, so they run on the blocking pool, and at most
//! [`MAX_CONCURRENT_HASHES`] at a time (the others wait their turn), so a
//! burst of sign-ins cannot exhaust memory. Signing in with an unknown e-mail still
//! verifies against a fixed dummy hash, so the answer takes as long as for
//! a wrong password and timing does not tell which accounts exist.

use std::sync::OnceLock;

use tokio::sync::Semaphore;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;

use crate::error::GatewayError;

/// Letters and digits of generated passwords, without look-alikes
/// (0/O, 1/l/I).
const ALPHABET: &[u8] = b"abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";

/// `n` random bytes from the operating system.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut buf = [0u8; N];
    getrandom::getrandom(&mut buf).expect("the operating system's random source");
    buf
}

/// A one-time password: 20 characters from [`ALPHABET`] in groups of
/// five (about 116 bits), easy to read out.
pub fn generate() -> String {
    let mut out = String::with_capacity(23);
    let mut i = 0;
    while i < 20 {
        // Rejection sampling keeps the distribution uniform.
        let [b] = random_bytes::<1>();
        let limit = (256 / ALPHABET.len() * ALPHABET.len()) as u8;
        if b >= limit {
            continue;
        }
        if i > 0 && i % 5 == 0 {
            out.push('-');
        }
        out.push(ALPHABET[b as usize % ALPHABET.len()] as char);
        i += 1;
    }
    out
}

fn hash_now(password: &str) -> Result<String, GatewayError> {
    let salt = SaltString::encode_b64(&random_bytes::<16>())
        .map_err(|e| GatewayError::Internal(format!("salt: {e}")))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| GatewayError::Internal(format!("password hashing failed: {e}")))
}

fn verify_now(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

/// A hash that no password of ours matches, for unknown accounts.
fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        let random = hex::encode(random_bytes::<16>());
        hash_now(&random).unwrap_or_default()
    })
}

/// Most argon2 computations at once (each holds 19 MiB while it runs).
pub const MAX_CONCURRENT_HASHES: usize = 2;

fn hashing_slots() -> &'static Semaphore {
    static SLOTS: Semaphore = Semaphore::const_new(MAX_CONCURRENT_HASHES);
    &SLOTS
}

/// Run `f` on the blocking pool once a hashing slot is free.
async fn with_slot<R: Send + 'static>(
    f: impl FnOnce() -> R + Send + 'static,
) -> Result<R, GatewayError> {
    let slot = hashing_slots()
        .acquire()
        .await
        .map_err(|e| GatewayError::Internal(format!("password hashing slots: {e}")))?;
    // The slot is held by the hash itself, so a request that is dropped
    // while it waits does not free the slot of a hash still running.
    tokio::task::spawn_blocking(move || {
        let _slot = slot;
        f()
    })
    .await
    .map_err(|e| GatewayError::Internal(format!("password hashing task: {e}")))
}

/// The argon2id PHC string of `password`.
pub async fn hash(password: String) -> Result<String, GatewayError> {
    with_slot(move || hash_now(&password)).await?
}

/// Whether `password` matches `hash`; with `None` (no such account) it
/// checks against the dummy hash and answers `false`, taking as long.
pub async fn verify(password: String, hash: Option<String>) -> bool {
    with_slot(move || match hash {
        Some(h) => verify_now(&password, &h),
        None => {
            let _ = verify_now(&password, dummy_hash());
            false
        }
    })
    .await
    .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_passwords_are_readable_and_differ() {
        let a = generate();
        let b = generate();
        assert_ne!(a, b);
        assert_eq!(a.len(), 23);
        assert!(a
            .split('-')
            .all(|g| g.len() == 5 && g.bytes().all(|c| ALPHABET.contains(&c))));
    }

    #[tokio::test]
    async fn hash_and_verify() {
        let h = hash("correct horse battery".into()).await.unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify("correct horse battery".into(), Some(h.clone())).await);
        assert!(!verify("wrong horse battery".into(), Some(h)).await);
        assert!(!verify("anything".into(), None).await);
    }
}
