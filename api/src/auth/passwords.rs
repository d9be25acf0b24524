//! argon2id with OWASP parameters (19 MiB, t=2, p=1), never on the async
//! executor: hashes run on a small pool of dedicated blocking threads, one
//! per allowed concurrent hash.
//!
//! Temporary panel passwords are the exception: the server draws them (80
//! random bits), they expire within days and must be changed at first
//! login, so they are stored as salted SHA-256 ([`hash_temporary`]), like
//! any other high-entropy server-issued secret (refresh tokens, cart
//! tokens). A slow hash protects guessable, human-chosen passwords; against
//! 2^80 candidates it adds nothing, while on every fulfilment it would cost
//! ~20 ms of CPU. Verifying one still runs an argon2 verification (the
//! decoy), so a login takes the same time whatever the account holds. A fixed set of threads keeps memory bounded
//! (each thread reuses its own 19 MiB; on tokio's elastic blocking pool
//! every new thread kept another copy, measured at 720 MiB under 32
//! concurrent logins). Verifying an unknown user costs the same as a wrong
//! password.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Params, PasswordHasher as _, PasswordVerifier, Version};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};

/// OWASP Password Storage Cheat Sheet: m = 19 MiB, t = 2, p = 1.
const MEMORY_KIB: u32 = 19 * 1024;
const ITERATIONS: u32 = 2;
const PARALLELISM: u32 = 1;

#[derive(Debug, thiserror::Error)]
pub enum HashError {
    #[error("argon2: {0}")]
    Argon2(String),
    #[error("the hashing pool is closed")]
    Closed,
    #[error("starting a hashing thread: {0}")]
    Thread(#[from] std::io::Error),
}

fn argon2() -> Result<Argon2<'static>, HashError> {
    let params = Params::new(MEMORY_KIB, ITERATIONS, PARALLELISM, None)
        .map_err(|e| HashError::Argon2(e.to_string()))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

fn hash_now(password: &str) -> Result<String, HashError> {
    let salt = SaltString::generate(&mut OsRng);
    argon2()?
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| HashError::Argon2(e.to_string()))
}

fn verify_now(password: &str, hash: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(hash) else {
        return false;
    };
    argon2().is_ok_and(|a| a.verify_password(password.as_bytes(), &parsed).is_ok())
}

/// Marks a temporary password's hash: `$attiva-tmp-sha256$<salt>$<digest>`
/// (hex; digest = SHA-256(salt ‖ password)).
const TEMPORARY_SCHEME: &str = "$attiva-tmp-sha256$";

/// The stored form of a server-issued temporary password (see the module
/// documentation for why it is not argon2id). Cheap: no pool needed.
pub fn hash_temporary(password: &str) -> String {
    let mut salt = [0u8; 16];
    rand::RngCore::fill_bytes(&mut rand::rng(), &mut salt);
    format!(
        "{TEMPORARY_SCHEME}{}${}",
        hex::encode(salt),
        hex::encode(temporary_digest(&salt, password))
    )
}

fn temporary_digest(salt: &[u8], password: &str) -> [u8; 32] {
    use sha2::{Digest, Sha256};
    let mut digest = Sha256::new();
    digest.update(salt);
    digest.update(password.as_bytes());
    digest.finalize().into()
}

/// `Some(matches)` when `hash` is a temporary password's hash.
fn verify_temporary(password: &str, hash: &str) -> Option<bool> {
    let (salt, digest) = hash.strip_prefix(TEMPORARY_SCHEME)?.split_once('$')?;
    let (salt, digest) = (hex::decode(salt).ok()?, hex::decode(digest).ok()?);
    let computed = temporary_digest(&salt, password);
    // Constant time: every byte is compared.
    let same = digest.len() == computed.len()
        && digest
            .iter()
            .zip(computed.iter())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0;
    Some(same)
}

type Job = Box<dyn FnOnce() + Send>;

/// A fixed set of threads that run hashing jobs in turn; they end when the
/// last [`PasswordHasher`] clone is dropped.
struct HashPool {
    jobs: Mutex<mpsc::Sender<Job>>,
}

impl HashPool {
    fn start(threads: usize) -> Result<Self, HashError> {
        let (jobs, queue) = mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for index in 0..threads.max(1) {
            let queue = Arc::clone(&queue);
            std::thread::Builder::new()
                .name(format!("argon2-{index}"))
                .spawn(move || {
                    loop {
                        let job = match queue.lock() {
                            Ok(receiver) => receiver.recv(),
                            Err(_) => break,
                        };
                        match job {
                            Ok(job) => job(),
                            Err(_) => break,
                        }
                    }
                })?;
        }
        Ok(HashPool {
            jobs: Mutex::new(jobs),
        })
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, HashError> {
        let (done, result) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            let _ = done.send(work());
        });
        self.jobs
            .lock()
            .map_err(|_| HashError::Closed)?
            .send(job)
            .map_err(|_| HashError::Closed)?;
        result.await.map_err(|_| HashError::Closed)
    }
}

/// Hashes and verifies passwords off the async executor, at most
/// `max_concurrent` at a time (the others wait their turn).
#[derive(Clone)]
pub struct PasswordHasher {
    pool: Arc<HashPool>,
    /// Verified against when the user does not exist, so both cases cost
    /// one argon2 run.
    decoy: Arc<String>,
}

impl std::fmt::Debug for PasswordHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PasswordHasher")
    }
}

impl PasswordHasher {
    pub fn new(max_concurrent: usize) -> Result<Self, HashError> {
        Ok(PasswordHasher {
            pool: Arc::new(HashPool::start(max_concurrent)?),
            decoy: Arc::new(hash_now("attiva-decoy-password-never-issued")?),
        })
    }

    pub async fn hash(&self, password: &str) -> Result<String, HashError> {
        let password = password.to_owned();
        self.pool.run(move || hash_now(&password)).await?
    }

    /// True when `password` matches `hash`; with no hash (unknown user) it
    /// verifies against the decoy and returns false. A temporary password's
    /// hash is checked directly, and the decoy verified too, so that every
    /// case costs one argon2 run.
    pub async fn verify(&self, password: &str, hash: Option<&str>) -> Result<bool, HashError> {
        let temporary = hash.and_then(|h| verify_temporary(password, h));
        let password = password.to_owned();
        let known = hash.is_some();
        let hash = match (temporary, hash) {
            (None, Some(hash)) => hash.to_owned(),
            _ => self.decoy.as_str().to_owned(),
        };
        let matches = self.pool.run(move || verify_now(&password, &hash)).await?;
        Ok(known && temporary.unwrap_or(matches))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn temporary_passwords_are_salted_sha256_and_verify() {
        let hasher = PasswordHasher::new(1).unwrap_or_else(|e| panic!("{e}"));
        let password = "abcd-efgh-jkmn-pqrs";
        let (first, second) = (hash_temporary(password), hash_temporary(password));
        assert!(first.starts_with(TEMPORARY_SCHEME), "{first}");
        assert_ne!(first, second, "each hash has its own salt");
        assert!(!first.contains(password));
        for hash in [&first, &second] {
            assert!(hasher.verify(password, Some(hash)).await.unwrap_or(false));
            assert!(
                !hasher
                    .verify("abcd-efgh-jkmn-pqrt", Some(hash))
                    .await
                    .unwrap_or(true)
            );
        }
        // A damaged hash never matches (and is not taken for argon2).
        let last = if first.ends_with('0') { '1' } else { '0' };
        let damaged = format!("{}{last}", &first[..first.len() - 1]);
        assert!(
            !hasher
                .verify(password, Some(&damaged))
                .await
                .unwrap_or(true)
        );
        assert!(
            !hasher
                .verify(password, Some("$attiva-tmp-sha256$zz$zz"))
                .await
                .unwrap_or(true)
        );
    }

    #[tokio::test]
    async fn hashes_are_argon2id_with_owasp_parameters_and_verify() {
        let hasher = PasswordHasher::new(2).unwrap_or_else(|e| panic!("{e}"));
        let hash = hasher
            .hash("correct horse battery staple")
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        assert!(
            hasher
                .verify("correct horse battery staple", Some(&hash))
                .await
                .unwrap_or(false)
        );
        assert!(
            !hasher
                .verify("correct horse battery stapl", Some(&hash))
                .await
                .unwrap_or(true)
        );
        assert!(
            !hasher
                .verify("anything at all here", None)
                .await
                .unwrap_or(true)
        );
    }
}
