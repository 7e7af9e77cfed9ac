//! `agency-audit`: verify an audit log (JSON lines files or a database) against its hash chain
//! and signed checkpoints, and generate checkpoint keys.
//!
//! ```text
//! agency-audit verify --jsonl DIR_OR_FILE... [--prefix audit] --checkpoints FILE --public-key HEX
//! agency-audit verify --database-url sqlite://audit.db --public-key-file key.pub
//! agency-audit verify --database-url postgres://… --schema audit --hmac-key-file key
//! agency-audit keygen --out checkpoint.key
//! ```
//!
//! `verify` runs in strict mode (every stream closed or checkpointed within `--max-age-secs`,
//! default 300; `--lenient` skips that), prints `{ok, checked, first_break?}` as JSON and exits
//! 0 when the log verifies, 1 on a break, 2 when the log or keys cannot be read.
#![forbid(unsafe_code)]
// A command-line tool talks to its user on stdout.
#![allow(clippy::print_stdout)]

use std::path::PathBuf;
use std::process::ExitCode;

use agency_audit::chain::{ChainVerifier, CheckpointSigner, CheckpointVerifier, SignedCheckpoint};
use agency_audit::sink::{
    AuditStore, CheckpointStore, JsonlCheckpointStore, JsonlSink, Rotation, feed_jsonl_files,
};
use agency_audit::{AuditError, VerifyReport};
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "agency-audit",
    version,
    about = "Verify tamper-evident audit logs"
)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Verify the hash chain and the signed checkpoints; report the first break.
    Verify(VerifyArgs),
    /// Generate an Ed25519 checkpoint key: the secret (hex) goes to --out (mode 0600), the
    /// public key is printed.
    Keygen {
        /// Where to write the secret key; must not exist.
        #[arg(long)]
        out: PathBuf,
    },
}

#[derive(clap::Args)]
struct VerifyArgs {
    /// JSON lines: a sink directory (every stream in it) or files in order. Repeatable.
    #[arg(long, num_args = 1.., conflicts_with = "database_url")]
    jsonl: Vec<PathBuf>,
    /// File-name prefix of the sink directory's files.
    #[arg(long, default_value = "audit")]
    prefix: String,
    /// Checkpoints file (JSON lines). With --database-url, defaults to the database's table.
    #[arg(long)]
    checkpoints: Option<PathBuf>,
    /// `sqlite://PATH` or `postgres://…`.
    #[arg(long)]
    database_url: Option<String>,
    /// PostgreSQL schema holding the audit tables.
    #[arg(long)]
    schema: Option<String>,
    /// Ed25519 public key, 64 hex digits.
    #[arg(long, group = "key")]
    public_key: Option<String>,
    /// File holding the Ed25519 public key in hex.
    #[arg(long, group = "key")]
    public_key_file: Option<PathBuf>,
    /// File holding the HMAC-SHA256 checkpoint key in hex.
    #[arg(long, group = "key")]
    hmac_key_file: Option<PathBuf>,
    /// Strict mode's maximum age, in seconds, of an open stream's newest checkpoint (its
    /// writer re-signs its head every checkpoint interval, 10 s by default). An open stream
    /// with an older newest checkpoint is reported as `stale`: its tail may have been cut.
    #[arg(long, default_value_t = 300)]
    max_age_secs: u64,
    /// Skip strict mode's freshness check (for logs copied away from their writers, or
    /// writers known to have crashed): tail cuts that took their checkpoints along, and events
    /// appended after a deleted close, then go unreported.
    #[arg(long)]
    lenient: bool,
}

impl VerifyArgs {
    fn chain_verifier(
        &self,
        key: &CheckpointVerifier,
        checkpoints: Vec<SignedCheckpoint>,
    ) -> ChainVerifier {
        let verifier = ChainVerifier::new(key, checkpoints);
        if self.lenient {
            return verifier;
        }
        let max_age = std::time::Duration::from_secs(self.max_age_secs);
        verifier.strict(time::OffsetDateTime::now_utc(), max_age)
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Cmd::Keygen { out } => keygen(&out).map(|()| ExitCode::SUCCESS),
        Cmd::Verify(args) => match tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
        {
            Ok(rt) => rt.block_on(verify(args)).map(|report| {
                match serde_json::to_string_pretty(&report) {
                    Ok(json) => println!("{json}"),
                    Err(e) => eprintln!("agency-audit: {e}"),
                }
                if report.ok {
                    ExitCode::SUCCESS
                } else {
                    ExitCode::from(1)
                }
            }),
            Err(e) => Err(AuditError::Io(e)),
        },
    };
    result.unwrap_or_else(|e| {
        eprintln!("agency-audit: {e}");
        ExitCode::from(2)
    })
}

fn read_hex_file(path: &PathBuf) -> Result<Vec<u8>, AuditError> {
    let text = zeroize::Zeroizing::new(std::fs::read_to_string(path)?);
    hex::decode(text.trim()).map_err(|_| AuditError::InvalidKey("key file must hold hex"))
}

fn key(args: &VerifyArgs) -> Result<CheckpointVerifier, AuditError> {
    if let Some(hex) = &args.public_key {
        return CheckpointVerifier::ed25519_from_hex(hex);
    }
    if let Some(path) = &args.public_key_file {
        return CheckpointVerifier::ed25519_from_hex(&std::fs::read_to_string(path)?);
    }
    if let Some(path) = &args.hmac_key_file {
        return CheckpointVerifier::hmac(read_hex_file(path)?);
    }
    Err(AuditError::InvalidKey(
        "give --public-key, --public-key-file or --hmac-key-file",
    ))
}

async fn verify(args: VerifyArgs) -> Result<VerifyReport, AuditError> {
    let key = key(&args)?;
    let file_checkpoints = match &args.checkpoints {
        Some(path) => {
            if !path.exists() {
                return Err(AuditError::Io(std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    "checkpoints file not found",
                )));
            }
            Some(JsonlCheckpointStore::read(path)?)
        }
        None => None,
    };
    if let Some(url) = &args.database_url {
        return verify_database(&args, url, &key, file_checkpoints).await;
    }
    if args.jsonl.is_empty() {
        return Err(AuditError::InvalidConfig("give --jsonl or --database-url"));
    }
    let Some(checkpoints) = file_checkpoints else {
        return Err(AuditError::InvalidConfig("--jsonl needs --checkpoints"));
    };
    let mut verifier = args.chain_verifier(&key, checkpoints);
    let mut files = Vec::new();
    for path in &args.jsonl {
        if path.is_dir() {
            JsonlSink::new(path, &args.prefix, Rotation::default())?
                .feed_verifier(&mut verifier)
                .await?;
        } else {
            files.push(path.clone());
        }
    }
    feed_jsonl_files(&files, &mut verifier)?;
    Ok(verifier.finish())
}

async fn run<S: AuditStore + CheckpointStore>(
    args: &VerifyArgs,
    store: &S,
    key: &CheckpointVerifier,
    checkpoints: Option<Vec<SignedCheckpoint>>,
) -> Result<VerifyReport, AuditError> {
    let checkpoints = match checkpoints {
        Some(c) => c,
        None => store.load_checkpoints().await?,
    };
    let mut verifier = args.chain_verifier(key, checkpoints);
    store.feed_verifier(&mut verifier).await?;
    Ok(verifier.finish())
}

async fn verify_database(
    args: &VerifyArgs,
    url: &str,
    key: &CheckpointVerifier,
    checkpoints: Option<Vec<SignedCheckpoint>>,
) -> Result<VerifyReport, AuditError> {
    let schema = args.schema.as_deref();
    let _ = (&schema, &checkpoints, &key, &args);
    if url.starts_with("sqlite:") {
        #[cfg(feature = "sqlite")]
        {
            let store = agency_audit::sink::SqliteAuditStore::connect_existing(url).await?;
            return run(args, &store, key, checkpoints).await;
        }
        #[cfg(not(feature = "sqlite"))]
        return Err(AuditError::InvalidConfig(
            "built without the sqlite feature",
        ));
    }
    if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        #[cfg(feature = "postgres")]
        {
            let store = agency_audit::sink::PostgresAuditStore::connect(url, schema).await?;
            return run(args, &store, key, checkpoints).await;
        }
        #[cfg(not(feature = "postgres"))]
        return Err(AuditError::InvalidConfig(
            "built without the postgres feature",
        ));
    }
    Err(AuditError::InvalidConfig(
        "database URL must start with sqlite: or postgres:",
    ))
}

fn keygen(out: &PathBuf) -> Result<(), AuditError> {
    use std::io::{Read, Write};
    let mut secret = zeroize::Zeroizing::new([0u8; 32]);
    std::fs::File::open("/dev/urandom")?.read_exact(secret.as_mut())?;
    let signer = CheckpointSigner::ed25519_from_bytes(&secret);
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut file = opts.open(out)?;
    file.write_all(zeroize::Zeroizing::new(hex::encode(secret.as_ref())).as_bytes())?;
    file.write_all(b"\n")?;
    file.sync_all()?;
    match signer.verifier() {
        CheckpointVerifier::Ed25519(public) => println!("{}", hex::encode(public.as_bytes())),
        CheckpointVerifier::Hmac(_) => {}
    }
    Ok(())
}
