//! From the arguments to the list of inputs: files, directories walked in a
//! stable order, stdin, and S3 prefixes listed into objects.
//!
//! The order is decided here once, so that `--jobs 1` reads inputs exactly in
//! it and a summary lists them the same way on every run.

use std::ffi::{OsStr, OsString};
use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};

/// One input to read to its end.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input {
    /// Standard input.
    Stdin,
    /// A local file.
    File(PathBuf),
    /// An S3 object.
    S3Object {
        /// The bucket.
        bucket: String,
        /// The object's key.
        key: String,
    },
}

impl fmt::Display for Input {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Input::Stdin => f.write_str("<stdin>"),
            Input::File(path) => write!(f, "{}", path.display()),
            Input::S3Object { bucket, key } => write!(f, "s3://{bucket}/{key}"),
        }
    }
}

/// An argument as the user gave it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Arg {
    /// `-`.
    Stdin,
    /// A file or a directory.
    Path(PathBuf),
    /// `s3://bucket/prefix`; the prefix may be empty.
    S3 {
        /// The bucket.
        bucket: String,
        /// Every key starting with this is an input.
        prefix: String,
    },
}

impl Arg {
    /// Reads one argument.
    ///
    /// # Errors
    ///
    /// For an `s3://` URI without a bucket.
    pub fn parse(arg: &OsStr) -> Result<Arg, String> {
        if arg == "-" {
            return Ok(Arg::Stdin);
        }
        let Some(uri) = arg.to_str().and_then(|a| a.strip_prefix("s3://")) else {
            return Ok(Arg::Path(PathBuf::from(arg)));
        };
        let (bucket, prefix) = uri.split_once('/').unwrap_or((uri, ""));
        if bucket.is_empty() {
            return Err(format!(
                "{}: expected s3://bucket or s3://bucket/prefix",
                arg.display()
            ));
        }
        Ok(Arg::S3 {
            bucket: bucket.to_owned(),
            prefix: prefix.to_owned(),
        })
    }
}

/// The inputs the arguments name, and what could not be expanded.
#[derive(Debug, Default)]
pub struct Expanded {
    /// In order: arguments as given, each directory walked in name order,
    /// each S3 prefix in key order.
    pub inputs: Vec<Input>,
    /// One message per argument that named nothing readable.
    pub errors: Vec<String>,
    /// What was left out of an argument, and why.
    pub notes: Vec<String>,
}

/// Expands `args`, listing S3 prefixes with `list_s3(bucket, prefix)`.
///
/// An argument that cannot be expanded is reported in
/// [`Expanded::errors`] and the others go on, as `grep` does: a backfill
/// with one bad path still reads the rest (and exits with 2).
pub fn expand(
    args: &[Arg],
    mut list_s3: impl FnMut(&str, &str) -> Result<Vec<String>, String>,
) -> Expanded {
    let mut expanded = Expanded::default();
    let mut stdin_seen = false;
    for arg in args {
        match arg {
            Arg::Stdin if stdin_seen => expanded
                .errors
                .push("-: standard input can be read only once".into()),
            Arg::Stdin => {
                stdin_seen = true;
                expanded.inputs.push(Input::Stdin);
            }
            Arg::Path(path) => match fs::metadata(path) {
                Ok(meta) if meta.is_dir() => {
                    let before = expanded.inputs.len();
                    walk(path, &mut expanded);
                    if expanded.inputs.len() == before {
                        expanded
                            .errors
                            .push(format!("{}: no files in this directory", path.display()));
                    }
                    leave_out_rolled_up_staging(&mut expanded, before, &path.display());
                }
                Ok(_) => expanded.inputs.push(Input::File(path.clone())),
                Err(e) => expanded.errors.push(format!("{}: {e}", path.display())),
            },
            Arg::S3 { bucket, prefix } => match list_s3(bucket, prefix) {
                Ok(keys) => {
                    let before = expanded.inputs.len();
                    // Zero-byte "folder" markers made by consoles end in `/`.
                    let keys: Vec<String> =
                        keys.into_iter().filter(|k| !k.ends_with('/')).collect();
                    if keys.is_empty() {
                        expanded.errors.push(format!(
                            "s3://{bucket}/{prefix}: no objects under this prefix"
                        ));
                    }
                    expanded
                        .inputs
                        .extend(keys.into_iter().map(|key| Input::S3Object {
                            bucket: bucket.clone(),
                            key,
                        }));
                    let uri = format!("s3://{bucket}/{prefix}");
                    leave_out_rolled_up_staging(&mut expanded, before, &uri);
                }
                Err(e) => expanded.errors.push(e),
            },
        }
    }
    expanded
}

/// Leaves out of the inputs from `from` on, those of the argument `arg`,
/// the staging objects of cflog's S3 destination whose hours are rolled up
/// into parts found beside them ([`rolled_up_staging`]): the parts hold
/// their entries, which would otherwise be read twice. An hour not yet
/// rolled up is read from its staging objects.
///
/// [`rolled_up_staging`]: cflog_destinations::s3::rollup::rolled_up_staging
#[cfg(feature = "parquet")]
fn leave_out_rolled_up_staging(expanded: &mut Expanded, from: usize, arg: &dyn fmt::Display) {
    let found = expanded.inputs.split_off(from);
    let names: Vec<String> = found
        .iter()
        .map(|input| match input {
            Input::File(path) => path.to_string_lossy().into_owned(),
            Input::S3Object { key, .. } => key.clone(),
            Input::Stdin => String::new(),
        })
        .collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let rolled_up = cflog_destinations::s3::rollup::rolled_up_staging(&names);
    let left_out = rolled_up.iter().filter(|&&rolled| rolled).count();
    expanded.inputs.extend(
        found
            .into_iter()
            .zip(rolled_up)
            .filter_map(|(input, rolled)| (!rolled).then_some(input)),
    );
    if left_out > 0 {
        let objects = if left_out == 1 { "object" } else { "objects" };
        expanded.notes.push(format!(
            "{arg}: {left_out} staging {objects} left out, as their hours are rolled up into \
             the parts beside them (give the staging/ prefix itself to read them)"
        ));
    }
}

/// Without Parquet, there is no staging object to read.
#[cfg(not(feature = "parquet"))]
fn leave_out_rolled_up_staging(_: &mut Expanded, _: usize, _: &dyn fmt::Display) {}

/// Adds the files under `dir`, depth first, each directory's entries in byte
/// order of their names (CloudFront's `<ID>.YYYY-MM-DD-HH.<unique>.gz` names
/// then come in time order). Hidden entries are skipped, and so are
/// symbolic links to directories, which could make the walk loop.
fn walk(dir: &Path, expanded: &mut Expanded) {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) => {
            expanded.errors.push(format!("{}: {e}", dir.display()));
            return;
        }
    };
    let mut names: Vec<(OsString, fs::FileType)> = Vec::new();
    for entry in entries {
        match entry.and_then(|e| Ok((e.file_name(), e.file_type()?))) {
            Ok((name, _)) if name.as_encoded_bytes().starts_with(b".") => {}
            Ok(named) => names.push(named),
            Err(e) => expanded.errors.push(format!("{}: {e}", dir.display())),
        }
    }
    names.sort_by(|a, b| a.0.as_encoded_bytes().cmp(b.0.as_encoded_bytes()));
    for (name, kind) in names {
        let path = dir.join(&name);
        if kind.is_dir() {
            walk(&path, expanded);
        } else if kind.is_symlink() {
            match fs::metadata(&path) {
                Ok(target) if target.is_dir() => {}
                Ok(_) => expanded.inputs.push(Input::File(path)),
                Err(e) => expanded.errors.push(format!("{}: {e}", path.display())),
            }
        } else {
            expanded.inputs.push(Input::File(path));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(arg: &str) -> Result<Arg, String> {
        Arg::parse(OsStr::new(arg))
    }

    /// Creates each of `paths` under `root`, with its folders.
    fn create(root: &Path, paths: &[impl AsRef<Path>]) {
        for path in paths {
            let path = root.join(path);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, "x").unwrap();
        }
    }

    /// The inputs of `expanded`, all files, as paths under `root`.
    fn files_under(root: &Path, expanded: &Expanded) -> Vec<String> {
        expanded
            .inputs
            .iter()
            .map(|i| match i {
                Input::File(p) => p.strip_prefix(root).unwrap().display().to_string(),
                other => panic!("{other:?}"),
            })
            .collect()
    }

    #[test]
    fn arguments_by_shape() {
        assert_eq!(parse("-"), Ok(Arg::Stdin));
        assert_eq!(parse("logs/a.gz"), Ok(Arg::Path("logs/a.gz".into())));
        assert_eq!(
            parse("s3://bucket/cf/E2.2024"),
            Ok(Arg::S3 {
                bucket: "bucket".into(),
                prefix: "cf/E2.2024".into()
            })
        );
        assert_eq!(
            parse("s3://bucket"),
            Ok(Arg::S3 {
                bucket: "bucket".into(),
                prefix: String::new()
            })
        );
        assert!(parse("s3:///key").is_err());
    }

    #[test]
    fn directories_are_walked_in_name_order_without_hidden_entries() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        create(
            root,
            &[
                "b.log",
                "a/z.gz",
                "a/b/c.log",
                ".hidden",
                "c/.git/x",
                "B.log",
            ],
        );
        fs::create_dir(root.join("empty")).unwrap();
        let expanded = expand(&[Arg::Path(root.to_path_buf())], |_, _| unreachable!());
        let names = files_under(root, &expanded);
        assert_eq!(names, ["B.log", "a/b/c.log", "a/z.gz", "b.log"]);
        assert!(expanded.errors.is_empty(), "{:?}", expanded.errors);
    }

    #[cfg(feature = "parquet")]
    #[test]
    fn staging_objects_of_rolled_up_hours_are_left_out_and_said_to_be() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let hour = |h: u8| format!("distribution=E2/year=2024/month=03/day=14/hour={h:02}");
        let files = [
            format!("{}/part-00000.parquet", hour(21)),
            format!("staging/{}/E2.2024-03-14-21.a1.parquet", hour(21)),
            format!("staging/{}/E2.2024-03-14-21.b2.parquet", hour(21)),
            // Not rolled up yet.
            format!("staging/{}/E2.2024-03-14-22.c3.parquet", hour(22)),
        ];
        create(root, &files);
        let read = |arg: &Path| {
            let expanded = expand(&[Arg::Path(arg.to_path_buf())], |_, _| unreachable!());
            (files_under(root, &expanded), expanded.notes)
        };
        let (names, notes) = read(root);
        assert_eq!(names, [files[0].as_str(), files[3].as_str()]);
        assert_eq!(notes.len(), 1);
        assert!(
            notes[0].ends_with(": 2 staging objects left out, as their hours are rolled up into the parts beside them (give the staging/ prefix itself to read them)"),
            "{notes:?}"
        );
        // The staging folder itself is read whole.
        let (names, notes) = read(&root.join("staging"));
        assert_eq!(names, &files[1..]);
        assert!(notes.is_empty());
    }

    #[test]
    fn missing_paths_empty_prefixes_and_a_second_stdin_are_errors() {
        let args = [
            Arg::Path("/no/such/cflog/input".into()),
            Arg::Stdin,
            Arg::Stdin,
            Arg::S3 {
                bucket: "b".into(),
                prefix: "p/".into(),
            },
            Arg::S3 {
                bucket: "b".into(),
                prefix: "q".into(),
            },
        ];
        let expanded = expand(&args, |bucket, prefix| match prefix {
            "p/" => Ok(vec!["p/".into()]),
            _ => Ok(vec![format!("{prefix}1"), format!("{bucket}2")]),
        });
        assert_eq!(
            expanded.inputs,
            [
                Input::Stdin,
                Input::S3Object {
                    bucket: "b".into(),
                    key: "q1".into()
                },
                Input::S3Object {
                    bucket: "b".into(),
                    key: "b2".into()
                },
            ]
        );
        assert_eq!(expanded.errors.len(), 3, "{:?}", expanded.errors);
        assert!(expanded.errors[0].starts_with("/no/such/cflog/input: "));
        assert!(expanded.errors[2].contains("no objects"));
    }
}
