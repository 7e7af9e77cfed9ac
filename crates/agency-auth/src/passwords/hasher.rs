//! [`PasswordHasher`]: argon2id on a fixed pool of worker threads behind a bounded queue.
//!
//! Why a dedicated pool rather than `spawn_blocking`: a login flood would otherwise start one
//! blocking thread per request (tokio allows 512), each allocating `m` KiB for argon2, so memory
//! and CPU grow with the flood. Here `workers` threads each own one argon2 memory buffer,
//! allocated on first use and reused for every later hash, so peak argon2 memory is
//! `workers × m` whatever the load, and the allocator never sees the 19 MiB allocate/free churn
//! that makes glibc keep freed memory in per-thread arenas. Requests beyond the queue's capacity
//! fail at once with [`PasswordError::Overloaded`] instead of waiting without bound.

use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::thread;

use argon2::{Algorithm, Block, KeyId, Params, ParamsBuilder, Version};
use tokio::sync::oneshot;
use zeroize::Zeroizing;

use super::phc::{self, OUTPUT_LEN, SALT_LEN, StoredHash};
use super::{Argon2Params, Password, PasswordError, PasswordPolicy, Pepper};

/// Largest queue capacity accepted (the queue's slots are allocated up front).
pub const MAX_QUEUE_CAPACITY: usize = 1_000_000;
/// Default queue capacity per worker thread.
pub const DEFAULT_QUEUE_PER_WORKER: usize = 64;
/// Default upper bound on the memory cost of a stored hash accepted for verification (256 MiB).
pub const DEFAULT_MAX_STORED_M_COST_KIB: u32 = 256 * 1024;
/// Default upper bound on the passes of a stored hash accepted for verification.
pub const DEFAULT_MAX_STORED_T_COST: u32 = 16;
/// Default upper bound on the lanes of a stored hash accepted for verification.
pub const DEFAULT_MAX_STORED_P_COST: u32 = 16;

/// The result of checking a password against a stored hash.
///
/// ```
/// use agency_auth::passwords::Verification;
///
/// assert!(Verification::Valid { needs_rehash: true }.needs_rehash());
/// assert!(!Verification::Invalid.is_valid());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub enum Verification {
    /// The password matches.
    Valid {
        /// The stored hash uses weaker or different parameters than the current ones: hash the
        /// password again now (the plaintext is at hand) and store the new hash.
        needs_rehash: bool,
    },
    /// The password does not match (or, for [`PasswordHasher::verify_dummy`], there was no
    /// user).
    Invalid,
}

impl Verification {
    /// Whether the password matched.
    pub fn is_valid(&self) -> bool {
        matches!(self, Self::Valid { .. })
    }

    /// Whether the password matched and its stored hash should be replaced.
    pub fn needs_rehash(&self) -> bool {
        matches!(self, Self::Valid { needs_rehash: true })
    }
}

/// Settings of a [`PasswordHasher`].
///
/// ```
/// use agency_auth::passwords::{Argon2Params, PasswordHasherConfig, PasswordPolicy};
///
/// let config = PasswordHasherConfig::default()
///     .with_params(Argon2Params::new(32 * 1024, 2, 1)?)
///     .with_policy(PasswordPolicy::new(10, 256)?)
///     .with_workers(4)
///     .with_queue_capacity(256);
/// assert_eq!(config.workers(), 4);
/// assert_eq!(config.queue_capacity(), 256);
/// assert_eq!(PasswordHasherConfig::default().with_workers(3).queue_capacity(), 3 * 64);
/// # Ok::<(), agency_auth::passwords::PasswordError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswordHasherConfig {
    params: Argon2Params,
    policy: PasswordPolicy,
    workers: usize,
    queue_capacity: Option<usize>,
    max_stored_m_cost_kib: u32,
    max_stored_t_cost: u32,
    max_stored_p_cost: u32,
    peppers: Vec<Pepper>,
    current_pepper: Option<u32>,
}

impl Default for PasswordHasherConfig {
    /// OWASP parameters, the default policy, one worker per available CPU (at least one), and a
    /// queue of [`DEFAULT_QUEUE_PER_WORKER`] requests per worker.
    fn default() -> Self {
        let workers = thread::available_parallelism().map_or(1, |n| n.get());
        Self {
            params: Argon2Params::OWASP,
            policy: PasswordPolicy::default(),
            workers,
            queue_capacity: None,
            max_stored_m_cost_kib: DEFAULT_MAX_STORED_M_COST_KIB,
            max_stored_t_cost: DEFAULT_MAX_STORED_T_COST,
            max_stored_p_cost: DEFAULT_MAX_STORED_P_COST,
            peppers: Vec::new(),
            current_pepper: None,
        }
    }
}

impl PasswordHasherConfig {
    /// Parameters for new hashes (and the bar for "needs rehash").
    #[must_use]
    pub fn with_params(mut self, params: Argon2Params) -> Self {
        self.params = params;
        self
    }

    /// The rules new passwords must meet.
    #[must_use]
    pub fn with_policy(mut self, policy: PasswordPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// Number of worker threads, so at most this many argon2 computations run at once and peak
    /// argon2 memory is `workers × m`.
    #[must_use]
    pub fn with_workers(mut self, workers: usize) -> Self {
        self.workers = workers;
        self
    }

    /// Requests that may wait for a worker (default: [`DEFAULT_QUEUE_PER_WORKER`] per worker);
    /// beyond it, calls fail with [`PasswordError::Overloaded`]. Zero means a request is accepted
    /// only when a worker is idle and waiting for one.
    #[must_use]
    pub fn with_queue_capacity(mut self, capacity: usize) -> Self {
        self.queue_capacity = Some(capacity);
        self
    }

    /// Upper bounds on the cost of stored hashes accepted for verification, so a hash with
    /// absurd parameters (a corrupted or planted row) cannot make one login allocate gigabytes.
    #[must_use]
    pub fn with_max_stored_cost(mut self, m_cost_kib: u32, t_cost: u32, p_cost: u32) -> Self {
        self.max_stored_m_cost_kib = m_cost_kib;
        self.max_stored_t_cost = t_cost;
        self.max_stored_p_cost = p_cost;
        self
    }

    /// Hash new passwords with `pepper` (see [`Pepper`]). A previous pepper with the same id is
    /// replaced.
    ///
    /// ```
    /// use agency_auth::passwords::{Pepper, PasswordHasherConfig};
    ///
    /// let config = PasswordHasherConfig::default()
    ///     .with_pepper(Pepper::new(2, &[2u8; 32])?)
    ///     .with_previous_pepper(Pepper::new(1, &[1u8; 32])?);
    /// assert_eq!(config.current_pepper_id(), Some(2));
    /// # Ok::<(), agency_auth::passwords::PasswordError>(())
    /// ```
    #[must_use]
    pub fn with_pepper(mut self, pepper: Pepper) -> Self {
        self.current_pepper = Some(pepper.id());
        self.peppers.retain(|p| p.id() != pepper.id());
        self.peppers.push(pepper);
        self
    }

    /// Keep verifying hashes made with an older `pepper` (they report `needs_rehash`). A
    /// previous pepper with the same id is replaced.
    #[must_use]
    pub fn with_previous_pepper(mut self, pepper: Pepper) -> Self {
        self.peppers.retain(|p| p.id() != pepper.id());
        self.peppers.push(pepper);
        self
    }

    /// Id of the pepper new hashes use, if any.
    pub fn current_pepper_id(&self) -> Option<u32> {
        self.current_pepper
    }

    fn pepper(&self, id: u32) -> Option<&Pepper> {
        self.peppers.iter().find(|p| p.id() == id)
    }

    fn current_keyid(&self) -> Vec<u8> {
        self.current_pepper
            .map(|id| id.to_be_bytes().to_vec())
            .unwrap_or_default()
    }

    /// The pepper a stored hash needs: none when it has no key id.
    fn pepper_for(&self, keyid: &[u8]) -> Result<PepperSecret, PasswordError> {
        if keyid.is_empty() {
            return Ok(None);
        }
        let id = <[u8; 4]>::try_from(keyid)
            .map(u32::from_be_bytes)
            .map_err(|_| PasswordError::UnknownPepper)?;
        self.pepper(id)
            .map(|p| Some(p.secret()))
            .ok_or(PasswordError::UnknownPepper)
    }

    /// Parameters for new hashes.
    pub fn params(&self) -> Argon2Params {
        self.params
    }

    /// The password policy.
    pub fn policy(&self) -> &PasswordPolicy {
        &self.policy
    }

    /// Number of worker threads.
    pub fn workers(&self) -> usize {
        self.workers
    }

    /// Capacity of the waiting queue.
    pub fn queue_capacity(&self) -> usize {
        self.queue_capacity
            .unwrap_or(self.workers.saturating_mul(DEFAULT_QUEUE_PER_WORKER))
    }

    fn validate(&self) -> Result<Params, PasswordError> {
        if self.workers == 0 || self.workers > 1024 {
            return Err(PasswordError::InvalidConfig(
                "workers must be between 1 and 1024",
            ));
        }
        if self.queue_capacity() > MAX_QUEUE_CAPACITY {
            return Err(PasswordError::InvalidConfig(
                "queue capacity must be at most 1,000,000",
            ));
        }
        if self.max_stored_m_cost_kib < self.params.m_cost_kib()
            || self.max_stored_t_cost < self.params.t_cost()
            || self.max_stored_p_cost < self.params.p_cost()
        {
            return Err(PasswordError::InvalidConfig(
                "stored-hash limits must be at least the current parameters",
            ));
        }
        let params = self.params.to_argon2()?;
        let Some(id) = self.current_pepper else {
            return Ok(params);
        };
        let pepper = self.pepper(id).ok_or(PasswordError::InvalidConfig(
            "the current pepper is missing",
        ))?;
        let keyid =
            KeyId::new(&pepper.keyid()).map_err(|_| PasswordError::InvalidConfig("pepper id"))?;
        ParamsBuilder::new()
            .m_cost(params.m_cost())
            .t_cost(params.t_cost())
            .p_cost(params.p_cost())
            .output_len(OUTPUT_LEN)
            .keyid(keyid)
            .build()
            .map_err(|_| PasswordError::InvalidConfig("argon2 parameters out of range"))
    }
}

type PepperSecret = Option<Zeroizing<Vec<u8>>>;

enum Job {
    Hash {
        password: Password,
        salt: [u8; SALT_LEN],
        pepper: PepperSecret,
    },
    Verify {
        password: Password,
        stored: StoredHash,
        pepper: PepperSecret,
    },
    Dummy {
        password: Password,
        salt: [u8; SALT_LEN],
        expected: [u8; OUTPUT_LEN],
        pepper: PepperSecret,
    },
}

enum Outcome {
    Hashed(String),
    Matched(bool),
}

struct Request {
    job: Job,
    reply: oneshot::Sender<Result<Outcome, PasswordError>>,
}

struct Shared {
    sender: SyncSender<Request>,
    config: PasswordHasherConfig,
}

/// Hashes and verifies passwords with argon2id on a bounded pool of worker threads.
///
/// Cheap to clone (clones share the pool); the workers stop when the last clone is dropped and
/// the queue is empty. Every method is `async` and never blocks the runtime: the argon2 work runs
/// on the pool's own threads.
///
/// - [`hash`](Self::hash) checks the [policy](PasswordPolicy), then returns a PHC string.
/// - [`verify`](Self::verify) checks a password against a PHC string and reports whether it
///   should be re-hashed with the current parameters.
/// - [`verify_dummy`](Self::verify_dummy) does the same work against nothing, for unknown users,
///   so that "no such user" and "wrong password" take the same time.
///
/// # Example
///
/// ```
/// use agency_auth::passwords::{Argon2Params, Password, PasswordHasher, PasswordHasherConfig, Verification};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), agency_auth::passwords::PasswordError> {
/// // Small parameters keep the doc test fast; the default is OWASP's 19 MiB, t = 2.
/// let hasher = PasswordHasher::new(
///     PasswordHasherConfig::default().with_params(Argon2Params::new(256, 1, 1)?).with_workers(1),
/// )?;
/// let hash = hasher.hash(&Password::from("violet tractor oboe")).await?;
/// assert!(hash.starts_with("$argon2id$v=19$m=256,t=1,p=1$"));
///
/// let login = hasher.verify(&Password::from("violet tractor oboe"), &hash).await?;
/// assert_eq!(login, Verification::Valid { needs_rehash: false });
/// let wrong = hasher.verify(&Password::from("violet tractor obo"), &hash).await?;
/// assert_eq!(wrong, Verification::Invalid);
///
/// // Unknown user: same work, always invalid.
/// assert_eq!(hasher.verify_dummy(&Password::from("anything")).await?, Verification::Invalid);
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct PasswordHasher {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for PasswordHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordHasher")
            .field("config", &self.shared.config)
            .finish_non_exhaustive()
    }
}

impl PasswordHasher {
    /// Starts the worker threads (named `agency-argon2-N`). Their memory buffers are allocated
    /// on first use.
    pub fn new(config: PasswordHasherConfig) -> Result<Self, PasswordError> {
        let current = config.validate()?;
        let (sender, receiver) = mpsc::sync_channel::<Request>(config.queue_capacity());
        let receiver = Arc::new(Mutex::new(receiver));
        for index in 0..config.workers {
            let receiver = Arc::clone(&receiver);
            let params = current.clone();
            thread::Builder::new()
                .name(format!("agency-argon2-{index}"))
                .spawn(move || worker(&receiver, &params))
                .map_err(|_| PasswordError::WorkerStart)?;
        }
        Ok(Self {
            shared: Arc::new(Shared { sender, config }),
        })
    }

    /// A hasher with [`PasswordHasherConfig::default`].
    pub fn with_defaults() -> Result<Self, PasswordError> {
        Self::new(PasswordHasherConfig::default())
    }

    /// The configuration in use.
    pub fn config(&self) -> &PasswordHasherConfig {
        &self.shared.config
    }

    /// Checks `password` against the policy, then hashes it with the current parameters and a
    /// fresh random 16-byte salt. Returns a PHC string to store.
    pub async fn hash(&self, password: &Password) -> Result<String, PasswordError> {
        let config = &self.shared.config;
        config.policy.check(password)?;
        let salt = random_array::<SALT_LEN>()?;
        let pepper = config.pepper_for(&config.current_keyid())?;
        match self
            .submit(Job::Hash {
                password: password.clone(),
                salt,
                pepper,
            })
            .await?
        {
            Outcome::Hashed(phc) => Ok(phc),
            Outcome::Matched(_) => Err(PasswordError::Hashing),
        }
    }

    /// Checks `password` against `stored_hash` (a PHC string). A password longer than the
    /// policy's maximum is [`Verification::Invalid`] without any hashing (it can never have been
    /// accepted by [`hash`](Self::hash); do not lower the maximum below what you once allowed).
    ///
    /// Errors mean the stored hash is unusable ([`PasswordError::MalformedHash`],
    /// [`PasswordError::UnsupportedHash`], [`PasswordError::StoredCostTooHigh`],
    /// [`PasswordError::UnknownPepper`]) or the pool is
    /// busy ([`PasswordError::Overloaded`]), never that the password is wrong.
    pub async fn verify(
        &self,
        password: &Password,
        stored_hash: &str,
    ) -> Result<Verification, PasswordError> {
        let stored = StoredHash::parse(stored_hash)?;
        let config = &self.shared.config;
        if stored.params.m_cost() > config.max_stored_m_cost_kib
            || stored.params.t_cost() > config.max_stored_t_cost
            || stored.params.p_cost() > config.max_stored_p_cost
        {
            return Err(PasswordError::StoredCostTooHigh);
        }
        let pepper = config.pepper_for(stored.params.keyid())?;
        if password.byte_len() > config.policy.max_bytes() {
            return Ok(Verification::Invalid);
        }
        let needs_rehash = stored.needs_rehash(&config.params, &config.current_keyid());
        match self
            .submit(Job::Verify {
                password: password.clone(),
                stored,
                pepper,
            })
            .await?
        {
            Outcome::Matched(true) => Ok(Verification::Valid { needs_rehash }),
            Outcome::Matched(false) => Ok(Verification::Invalid),
            Outcome::Hashed(_) => Err(PasswordError::Hashing),
        }
    }

    /// Does the work of [`verify`](Self::verify) against a hash with the current parameters that
    /// no password matches, and returns [`Verification::Invalid`]. Call it when the user does not
    /// exist, so that an attacker cannot tell unknown users from wrong passwords by timing.
    pub async fn verify_dummy(&self, password: &Password) -> Result<Verification, PasswordError> {
        let config = &self.shared.config;
        if password.byte_len() > config.policy.max_bytes() {
            return Ok(Verification::Invalid);
        }
        let salt = random_array::<SALT_LEN>()?;
        let expected = random_array::<OUTPUT_LEN>()?;
        let pepper = config.pepper_for(&config.current_keyid())?;
        self.submit(Job::Dummy {
            password: password.clone(),
            salt,
            expected,
            pepper,
        })
        .await?;
        Ok(Verification::Invalid)
    }

    async fn submit(&self, job: Job) -> Result<Outcome, PasswordError> {
        let (reply, answer) = oneshot::channel();
        match self.shared.sender.try_send(Request { job, reply }) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => return Err(PasswordError::Overloaded),
            Err(TrySendError::Disconnected(_)) => return Err(PasswordError::WorkerStopped),
        }
        answer.await.map_err(|_| PasswordError::WorkerStopped)?
    }
}

fn worker(receiver: &Mutex<Receiver<Request>>, current: &Params) {
    let mut memory: Vec<Block> = Vec::new();
    loop {
        let request = {
            // A worker never panics while holding the lock, but recover from poisoning anyway.
            let guard = receiver
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            match guard.recv() {
                Ok(request) => request,
                Err(_) => return, // every PasswordHasher clone is gone
            }
        };
        if request.reply.is_closed() {
            continue; // the caller gave up (timeout, disconnect): skip the work
        }
        if memory.len() < current.block_count() {
            memory = vec![Block::new(); current.block_count()];
        }
        let outcome = run(request.job, current, &mut memory);
        // The caller may have gone meanwhile; nothing to do then.
        let _ = request.reply.send(outcome);
    }
}

fn run(job: Job, current: &Params, memory: &mut [Block]) -> Result<Outcome, PasswordError> {
    match job {
        Job::Hash {
            password,
            salt,
            pepper,
        } => {
            let mut output = zeroize::Zeroizing::new([0u8; OUTPUT_LEN]);
            phc::compute(
                Algorithm::Argon2id,
                Version::V0x13,
                current,
                pepper.as_deref().map(Vec::as_slice),
                password.expose().as_bytes(),
                &salt,
                &mut output[..],
                memory,
            )?;
            Ok(Outcome::Hashed(phc::encode(current, &salt, &output[..])?))
        }
        Job::Verify {
            password,
            stored,
            pepper,
        } => {
            let mut output = zeroize::Zeroizing::new(vec![0u8; stored.expected.len()]);
            phc::compute(
                stored.algorithm,
                stored.version,
                &stored.params,
                pepper.as_deref().map(Vec::as_slice),
                password.expose().as_bytes(),
                &stored.salt,
                &mut output,
                memory,
            )?;
            Ok(Outcome::Matched(phc::outputs_match(
                &output,
                &stored.expected,
            )))
        }
        Job::Dummy {
            password,
            salt,
            expected,
            pepper,
        } => {
            let mut output = zeroize::Zeroizing::new([0u8; OUTPUT_LEN]);
            phc::compute(
                Algorithm::Argon2id,
                Version::V0x13,
                current,
                pepper.as_deref().map(Vec::as_slice),
                password.expose().as_bytes(),
                &salt,
                &mut output[..],
                memory,
            )?;
            // Compare as verify does, so both paths cost the same; the answer is ignored.
            let _ = phc::outputs_match(&output[..], &expected);
            Ok(Outcome::Matched(false))
        }
    }
}

fn random_array<const N: usize>() -> Result<[u8; N], PasswordError> {
    let mut bytes = [0u8; N];
    aws_lc_rs::rand::fill(&mut bytes).map_err(|_| PasswordError::Random)?;
    Ok(bytes)
}
