//! `dev new NAME`: scaffolds lesson N+1 with every part a lesson has: its text and data, a
//! starter (and its pristine copy), a solution, its judge (registered in `src/lessons.rs`), its
//! half in the kit, its three check targets in `kit/src/bin/`, its integration-test module, its
//! forging fixture (the forging test finds it), and its row in the README. Each part starts as a stub that compiles
//! and whose one check fails ([`templates`]), so `dev check` shows what is left to write.

mod templates;

use std::fs;
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;

use crate::UsageError;
use crate::catalog::LESSONS;
use crate::project;
use crate::reporter::Reporter;

/// Where `src/lessons.rs` takes the next registry entry.
const MARKER: &str = "    // dev new: next lesson";

pub fn new(name: &str, reporter: &mut Reporter) -> anyhow::Result<ExitCode> {
    let valid = name.starts_with(|first: char| first.is_ascii_lowercase())
        && name
            .bytes()
            .all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit() || byte == b'_');
    if !valid {
        return Err(
            UsageError(format!("'{name}' is not a snake_case name, such as bad_gateway")).into()
        );
    }
    let root = project::root()?;
    let number = LESSONS.len() + 1;
    let slug = format!("{number:02}_{name}");
    if root.join(format!("src/lessons/{name}.rs")).exists()
        || LESSONS.iter().any(|lesson| lesson.slug[3..] == *name)
    {
        return Err(UsageError(format!("there is a lesson named {name} already")).into());
    }
    let files = [
        (format!("lessons/{slug}.md"), templates::lesson_text(number)),
        (format!("lessons/{slug}.toml"), templates::lesson_data()),
        (format!("exercises/{slug}.rs"), templates::exercise(number, STARTER)),
        (format!("exercises/.starters/{slug}.rs"), templates::exercise(number, STARTER)),
        (format!("solutions/{slug}.rs"), templates::exercise(number, "The reference solution.")),
        (format!("kit/src/lessons/{name}.rs"), templates::kit_half(number, name)),
        (format!("src/lessons/{name}.rs"), templates::judge(number, name)),
        (format!("tests/integration/{name}.rs"), templates::test_module(number, name, &slug)),
        (format!("tests/fixtures/forging/{slug}.rs"), templates::forging_fixture(number, &slug)),
    ];
    let targets = ["exercise", "solution", "starter"].map(|side| {
        let file = match side {
            "exercise" => format!("exercises/{slug}.rs"),
            "solution" => format!("solutions/{slug}.rs"),
            _ => format!("exercises/.starters/{slug}.rs"),
        };
        (
            format!("kit/src/bin/{side}_{number:02}.rs"),
            templates::check_target(side, number, &file, name),
        )
    });
    let edits = [
        Edit::new("src/lessons.rs", |text| {
            Some(
                with_line(text, "\npub mod ", &format!("pub mod {name};"))?
                    .replace(MARKER, &format!("    lesson!({name}, \"{slug}\"),\n{MARKER}")),
            )
            .filter(|text| text.contains(MARKER))
        }),
        Edit::new("kit/src/lessons.rs", |text| {
            with_line(text, "\npub mod ", &format!("pub mod {name};"))
        }),
        Edit::new("tests/integration/main.rs", |text| {
            with_line(text, "\nmod ", &format!("mod {name};"))
        }),
        Edit::new("README.md", |text| {
            let row = format!("| {number} | TODO: the title | TODO: what the learner writes |");
            with_line(text, &format!("\n| {} | ", number - 1), &row)
        }),
    ];
    // Everything is checked before anything is written: a scaffold is made whole or not at all.
    for (file, _) in files.iter().chain(&targets) {
        if root.join(file).exists() {
            return Err(UsageError(format!("{file} exists already: nothing was written")).into());
        }
    }
    let mut edited = Vec::new();
    for edit in &edits {
        let path = root.join(edit.file);
        let text =
            fs::read_to_string(&path).with_context(|| format!("could not read {}", edit.file))?;
        let Some(new) = (edit.apply)(&text) else {
            return Err(UsageError(format!(
                "{} has lost the place where a new lesson goes: nothing was written",
                edit.file
            ))
            .into());
        };
        edited.push((path, new));
    }
    for (file, content) in files.iter().chain(&targets) {
        write_new(&root, file, content)?;
        reporter.dev_fact(true, &format!("created {file}"))?;
    }
    for ((path, text), edit) in edited.iter().zip(&edits) {
        fs::write(path, text).with_context(|| format!("could not update {}", edit.file))?;
        reporter.dev_fact(true, &format!("added lesson {number} to {}", edit.file))?;
    }
    reporter.notice(&format!(
        "lesson {number} is scaffolded: write its judge, text, starter, solution and tests, then run `cargo run -- dev check`"
    ));
    Ok(ExitCode::SUCCESS)
}

/// What a starter's comment says until it is written.
const STARTER: &str = "TODO: build the exercise's starter.";

/// A change to a file of the course: `apply` gives its new text, or `None` when it cannot
/// find where the change goes.
struct Edit<'a> {
    file: &'static str,
    apply: Box<Change<'a>>,
}

/// A file's text, changed: `None` when the place for the change is not there.
type Change<'a> = dyn Fn(&str) -> Option<String> + 'a;

impl<'a> Edit<'a> {
    fn new(file: &'static str, apply: impl Fn(&str) -> Option<String> + 'a) -> Self {
        Self { file, apply: Box::new(apply) }
    }
}

/// `text` with `line` inserted after the last line that starts with `start` (`start` begins
/// with the newline before it); `None` when there is none.
fn with_line(text: &str, start: &str, line: &str) -> Option<String> {
    let (at, _) = text.match_indices(start).last()?;
    let begin = at + 1;
    let end = text[begin..].find('\n').map_or(text.len(), |offset| begin + offset + 1);
    Some(format!("{}{line}\n{}", &text[..end], &text[end..]))
}

/// Writes a file that must not exist yet: a scaffold never overwrites an author's work.
fn write_new(root: &Path, file: &str, content: &str) -> anyhow::Result<()> {
    let path = root.join(file);
    if path.exists() {
        return Err(UsageError(format!("{file} exists already: nothing was overwritten")).into());
    }
    if let Some(folder) = path.parent() {
        fs::create_dir_all(folder)
            .with_context(|| format!("could not create {}", folder.display()))?;
    }
    fs::write(&path, content).with_context(|| format!("could not write {file}"))
}
