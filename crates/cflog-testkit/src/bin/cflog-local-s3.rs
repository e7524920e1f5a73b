//! A local S3-compatible server for trying cflog as a user would, without
//! AWS: it serves a directory (each subdirectory is a bucket) and can load
//! log files into a bucket first, as CloudFront delivers them: `*.log` files
//! gzipped (`<name>.log.gz`), `*.gz` files as they are, under their own
//! names, so that a CloudFront file name (`E2ABCDEF.2024-03-14-21.a1b2c3d4.gz`,
//! as `scripts/gen_cflog.py --name-like-cloudfront` writes them) stays one.
//!
//! ```text
//! cflog-local-s3 [--port 9000] [--dir target/local-s3] [--load testdata --bucket cflog-local]
//!                [--prefix 'cf logs/year=2025/']
//! ```
//!
//! Credentials: access key `AKIDCFLOGTEST`, secret `cflog-test-secret`.

use std::path::PathBuf;

use cflog_testkit::{ACCESS_KEY, S3Server, SECRET_KEY, gzip};

const USAGE: &str = "usage: cflog-local-s3 [--port PORT] [--dir DIR] [--load DIR --bucket BUCKET] [--prefix PREFIX]";

/// Where loaded files go: a prefix with a space and a Hive-style `=`,
/// which S3 events encode as `cf+logs/year%3D2025/…`.
const DEFAULT_PREFIX: &str = "cf logs/year=2025/";

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut port = 9000u16;
    let mut dir = PathBuf::from("target/local-s3");
    let mut load = None;
    let mut bucket = String::from("cflog-local");
    let mut prefix = String::from(DEFAULT_PREFIX);
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or(USAGE);
        match arg.as_str() {
            "--port" => port = value()?.parse().map_err(|_| USAGE)?,
            "--dir" => dir = PathBuf::from(value()?),
            "--load" => load = Some(PathBuf::from(value()?)),
            "--bucket" => bucket = value()?,
            "--prefix" => prefix = value()?,
            _ => return Err(USAGE.into()),
        }
    }
    let server = S3Server::serve(&dir, port).await?;
    if let Some(load) = load {
        let client = server.client();
        if client.head_bucket().bucket(&bucket).send().await.is_err() {
            server.create_bucket(&bucket).await;
        }
        for key in load_logs(&server, &bucket, &prefix, &load).await? {
            eprintln!("loaded s3://{bucket}/{key}");
        }
    }
    println!("{}", server.endpoint);
    eprintln!(
        "serving {} at {} (access key {ACCESS_KEY}, secret {SECRET_KEY}); Ctrl-C stops",
        dir.display(),
        server.endpoint
    );
    tokio::signal::ctrl_c().await?;
    Ok(())
}

/// Uploads every `*.log` file of `dir` (TAB-delimited standard logs)
/// gzipped as `<prefix><name>.gz`, and every `*.gz` file as it is, as
/// `<prefix><name>`.
async fn load_logs(
    server: &S3Server,
    bucket: &str,
    prefix: &str,
    dir: &std::path::Path,
) -> std::io::Result<Vec<String>> {
    let mut names: Vec<String> = std::fs::read_dir(dir)?
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .filter(|name| {
            (name.ends_with(".log") && !name.starts_with("v2-custom-order"))
                || name.ends_with(".gz")
        })
        .collect();
    names.sort();
    let mut keys = Vec::new();
    for name in names {
        let contents = std::fs::read(dir.join(&name))?;
        let (key, body) = match name.ends_with(".gz") {
            true => (format!("{prefix}{name}"), contents),
            false => (format!("{prefix}{name}.gz"), gzip(&contents)),
        };
        server.put(bucket, &key, body).await;
        keys.push(key);
    }
    Ok(keys)
}
