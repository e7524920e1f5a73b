//! A local S3-compatible server for trying cflog as a user would, without
//! AWS: it serves a directory (each subdirectory is a bucket) and can load
//! log files into a bucket first, gzipped as CloudFront delivers them.
//!
//! ```text
//! cflog-local-s3 [--port 9000] [--dir target/local-s3] [--load testdata --bucket cflog-local]
//! ```
//!
//! Credentials: access key `AKIDCFLOGTEST`, secret `cflog-test-secret`.

use std::path::PathBuf;

use cflog_testkit::{ACCESS_KEY, S3Server, SECRET_KEY, gzip};

const USAGE: &str = "usage: cflog-local-s3 [--port PORT] [--dir DIR] [--load DIR --bucket BUCKET]";

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut port = 9000u16;
    let mut dir = PathBuf::from("target/local-s3");
    let mut load = None;
    let mut bucket = String::from("cflog-local");
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or(USAGE);
        match arg.as_str() {
            "--port" => port = value()?.parse().map_err(|_| USAGE)?,
            "--dir" => dir = PathBuf::from(value()?),
            "--load" => load = Some(PathBuf::from(value()?)),
            "--bucket" => bucket = value()?,
            _ => return Err(USAGE.into()),
        }
    }
    let server = S3Server::serve(&dir, port).await?;
    if let Some(load) = load {
        let client = server.client();
        if client.head_bucket().bucket(&bucket).send().await.is_err() {
            server.create_bucket(&bucket).await;
        }
        for key in load_logs(&server, &bucket, &load).await? {
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

/// Uploads every `*.log` file of `dir` (TAB-delimited standard logs) as
/// `cf logs/year=2025/<name>.gz`: a prefix with a space and a Hive-style
/// `=`, which S3 events encode as `cf+logs/year%3D2025/…`.
async fn load_logs(
    server: &S3Server,
    bucket: &str,
    dir: &std::path::Path,
) -> std::io::Result<Vec<String>> {
    let mut names: Vec<String> = std::fs::read_dir(dir)?
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .filter(|name| name.ends_with(".log") && !name.starts_with("v2-custom-order"))
        .collect();
    names.sort();
    let mut keys = Vec::new();
    for name in names {
        let key = format!("cf logs/year=2025/{name}.gz");
        server
            .put(bucket, &key, gzip(&std::fs::read(dir.join(&name))?))
            .await;
        keys.push(key);
    }
    Ok(keys)
}
