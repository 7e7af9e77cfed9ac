//! agency-auth in one screen: issue an access token, verify it, and hash and check a password.
//!
//! Run it with `cargo run -p auth-quickstart`. It generates a fresh Ed25519 signing key each time;
//! a real service loads its keys from configuration (see `SigningKey::from_pem`).
// This program's whole job is to show its results on the terminal.
#![allow(clippy::print_stdout)]

use std::error::Error;
use std::time::Duration;

use agency_auth::passwords::{Password, PasswordHasher};
use agency_auth::tokens::{
    AccessTokenRequest, Algorithm, KeySet, SigningKey, TokenIssuer, TokenVerifier,
};
use agency_auth::tokens::{Audience, Issuer};

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    // Access tokens: one active signing key; older keys would stay in the set to verify.
    let keys = KeySet::new(SigningKey::generate(Algorithm::EdDsa)?);
    let ttl = Duration::from_secs(15 * 60);
    let issuer = TokenIssuer::new(
        keys.clone(),
        Issuer::new("agency-swarm"),
        Audience::new("swarm-api"),
        ttl,
    )?;
    let verifier: TokenVerifier = TokenVerifier::builder(
        keys.clone(),
        Issuer::new("agency-swarm"),
        Audience::new("swarm-api"),
    )
    .build()?;

    let request = AccessTokenRequest::new("user-42", "default", "operator").session("session-1");
    let issued = issuer.issue(&request)?;
    println!(
        "issued an EdDSA access token (kid {}, expires in {} s)",
        issued.kid, issued.expires_in
    );

    let claims = verifier.verify(&issued.token).await?;
    println!(
        "verified: sub={} tid={} role={} sid={:?}",
        claims.sub, claims.tid, claims.role, claims.sid
    );

    let mut tampered = issued.token.clone();
    tampered.push('x');
    match verifier.verify(&tampered).await {
        Ok(_) => return Err("a tampered token verified".into()),
        Err(error) => println!("a tampered token is refused: {error}"),
    }

    println!("public keys: {}", serde_json::to_string(&keys.jwks())?);

    // Passwords: argon2id with OWASP parameters on a bounded worker pool.
    let hasher = PasswordHasher::with_defaults()?;
    let password = Password::from("correct horse battery staple");
    let stored = hasher.hash(&password).await?;
    println!("stored hash: {stored}");

    let right = hasher.verify(&password, &stored).await?;
    let wrong = hasher
        .verify(&Password::from("correct horse battery stapler"), &stored)
        .await?;
    println!(
        "right password valid: {}, wrong password valid: {}",
        right.is_valid(),
        wrong.is_valid()
    );
    if !right.is_valid() || wrong.is_valid() {
        return Err("password verification gave the wrong answer".into());
    }
    Ok(())
}
