//! The README and the scripts build what `Cargo.lock` pins: every `cargo
//! install`, `cargo run` and `cargo build` they show carries `--locked`.
//! Without it `cargo install` resolves every dependency afresh, to versions
//! the tests never ran with.

use std::path::{Path, PathBuf};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The commands in `text` that start with `cargo install`, `cargo run` or
/// `cargo build`, each up to the end of its code span or of its line, with
/// `\`-continued lines joined, as `(line number, command)`.
fn cargo_commands(text: &str) -> Vec<(usize, String)> {
    let mut commands = Vec::new();
    let mut logical = String::new();
    let mut first_line = 0;
    for (i, line) in text.lines().enumerate() {
        if logical.is_empty() {
            first_line = i + 1;
        }
        match line.strip_suffix('\\') {
            Some(continued) => {
                logical.push_str(continued);
                continue;
            }
            None => logical.push_str(line),
        }
        for verb in ["cargo install", "cargo run", "cargo build"] {
            for (at, _) in logical.match_indices(verb) {
                let rest = &logical[at..];
                let end = rest.find('`').unwrap_or(rest.len());
                commands.push((first_line, rest[..end].to_owned()));
            }
        }
        logical.clear();
    }
    commands
}

#[test]
fn every_cargo_install_run_and_build_in_the_readme_and_the_scripts_is_locked() {
    let mut files = vec![repo().join("README.md")];
    for entry in std::fs::read_dir(repo().join("scripts")).unwrap() {
        let path = entry.unwrap().path();
        if let Ok(text) = std::fs::read_to_string(&path)
            && !text.is_empty()
        {
            files.push(path);
        }
    }
    let mut checked = 0;
    let mut unlocked = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        for (line, command) in cargo_commands(&text) {
            checked += 1;
            if !command.contains("--locked") {
                unlocked.push(format!("{}:{line}: {command}", file.display()));
            }
        }
    }
    assert!(
        unlocked.is_empty(),
        "add --locked to:\n{}",
        unlocked.join("\n")
    );
    // The README's own install and run commands are among those checked.
    assert!(checked >= 5, "only {checked} cargo commands found");
}

#[test]
fn commands_are_found_in_code_spans_blocks_and_continued_lines() {
    let text = "Run `cargo run -p x -- a` or `cargo install --locked --path y`.\n\
                cargo build \\\n  -p z --release\n";
    let found: Vec<String> = cargo_commands(text).into_iter().map(|(_, c)| c).collect();
    assert_eq!(
        found,
        [
            "cargo install --locked --path y",
            "cargo run -p x -- a",
            "cargo build   -p z --release"
        ]
    );
}
