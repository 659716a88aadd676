//! `dev new NAME`: scaffolds lesson N+1 with every part a lesson has: its text and data, a
//! starter (and its pristine copy), a solution, a judge module registered in the library, and
//! its half in the kit, and its three check targets in `kit/src/bin/`. Each part starts as a stub that
//! compiles, whose one check fails, so `dev check` shows what is left to write.

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
    let registry =
        fs::read_to_string(root.join("src/lessons.rs")).context("could not read src/lessons.rs")?;
    if !registry.contains(MARKER) {
        return Err(UsageError(format!(
            "src/lessons.rs has lost its marker line {:?}",
            MARKER.trim()
        ))
        .into());
    }
    let files = [
        (format!("lessons/{slug}.md"), lesson_text(number)),
        (format!("lessons/{slug}.toml"), lesson_data()),
        (format!("exercises/{slug}.rs"), exercise(number, "TODO: build the exercise's starter.")),
        (
            format!("exercises/.starters/{slug}.rs"),
            exercise(number, "TODO: build the exercise's starter."),
        ),
        (format!("solutions/{slug}.rs"), exercise(number, "The reference solution.")),
        (format!("kit/src/lessons/{name}.rs"), kit_half(number, name)),
        (format!("src/lessons/{name}.rs"), judge(number, name)),
    ];
    let targets = ["exercise", "solution", "starter"].map(|side| {
        let file = match side {
            "exercise" => format!("exercises/{slug}.rs"),
            "solution" => format!("solutions/{slug}.rs"),
            _ => format!("exercises/.starters/{slug}.rs"),
        };
        (format!("kit/src/bin/{side}_{number:02}.rs"), check_target(side, &file, name))
    });
    for (file, content) in files.iter().chain(&targets) {
        write_new(&root, file, content)?;
        reporter.dev_fact(true, &format!("created {file}"))?;
    }
    let registry = with_module(&registry, name)
        .replace(MARKER, &format!("    lesson!({name}, \"{slug}\"),\n{MARKER}"));
    fs::write(root.join("src/lessons.rs"), registry).context("could not update src/lessons.rs")?;
    reporter.dev_fact(true, "registered the judge in src/lessons.rs")?;
    let kit_registry = root.join("kit/src/lessons.rs");
    let modules = fs::read_to_string(&kit_registry).context("could not read kit/src/lessons.rs")?;
    fs::write(&kit_registry, with_module(&modules, name))
        .context("could not update kit/src/lessons.rs")?;
    reporter.dev_fact(true, "registered its half in kit/src/lessons.rs")?;
    reporter.notice(&format!(
        "lesson {number} is scaffolded: write its judge, text, starter and solution, then run `cargo run -- dev check`"
    ));
    Ok(ExitCode::SUCCESS)
}

/// `source` with `pub mod name;` after its last `pub mod` line.
fn with_module(source: &str, name: &str) -> String {
    let last = source.match_indices("\npub mod ").last().map(|(at, _)| at + 1);
    let Some(line) = last else { return format!("{source}pub mod {name};\n") };
    let end = source[line..].find('\n').map_or(source.len(), |at| line + at + 1);
    format!("{}pub mod {name};\n{}", &source[..end], &source[end..])
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

fn lesson_text(number: usize) -> String {
    format!(
        "# TODO: the title\n\nTODO: what to know, in your own words.\n\n## The exercise\n\nOpen \
         `exercises/…` and follow its `// TODO`s, then run `cargo run -- check {number}`.\n"
    )
}

fn lesson_data() -> String {
    "title = \"TODO: the title\"\ntime_limit_seconds = 30\n\n[[checks]]\nid = \"first\"\nname = \"TODO: the first check\"\nwhy = \"TODO: why it matters.\"\n\n[[hints]]\ntext = \"TODO: a first hint.\"\n\n\
     [[quiz]]\nquestion = \"TODO: a question?\"\noptions = [\"TODO: the answer\", \"TODO: a plausible distractor\"]\n\
     answer = \"a\"\nexplanation = \"TODO: why.\"\n"
        .to_string()
}

fn exercise(number: usize, purpose: &str) -> String {
    format!(
        "//! Lesson {number}. {purpose}\n//!\n//! Check it with `cargo run -- check {number}`.\n\n\
         use axum::Router;\n\n// TODO: the exercise's contract.\npub fn app() -> Router {{\n    Router::new()\n}}\n"
    )
}

fn check_target(side: &str, file: &str, name: &str) -> String {
    format!(
        "//! Check target: the {side} of `{file}`, handed to its lesson's adapter.\n\n\
         #[path = \"../../../{file}\"]\nmod learner;\n\n\
         fn main() -> std::process::ExitCode {{\n    \
         // What the runner asked cargo to build this from: cargo rebuilds it when that changes.\n    \
         let built_from = option_env!(\"HTTPLINGS_SOURCE_SHA256\");\n    \
         httplings::lessons::{name}::main(built_from, learner::app)\n}}\n"
    )
}

fn kit_half(number: usize, name: &str) -> String {
    format!(
        r#"//! Lesson {number}, {name}: TODO say what the judge has the learner's code do.

use std::process::ExitCode;
use std::rc::Rc;

use axum::Router;

use crate::adapter::{{self, Handler}};

/// The exercise's entry point.
pub type App = fn() -> Router;

/// The `main` of the lesson's check targets.
pub fn main(built_from: Option<&str>, app: App) -> ExitCode {{
    adapter::main(built_from, Adapter {{ app }})
}}

/// Serves `app` when the judge asks.
#[derive(Debug)]
pub struct Adapter {{
    pub app: App,
}}

impl Handler for Adapter {{
    type Call = ();
    type Reply = Result<String, String>;

    async fn handle(self: Rc<Self>, (): ()) -> Result<String, String> {{
        adapter::serve_app(|| (self.app)()).await
    }}
}}
"#
    )
}

fn judge(number: usize, name: &str) -> String {
    format!(
        r#"//! Lesson {number}, {name}: TODO say what the judge serves, sends and compares.

use std::time::Duration;

use httplings::lessons::{name}::{{Adapter, App}};

use crate::judge::{{self, Failure, JudgeFuture, Judged, Learner, Lesson, Lost, Recorder, Returned}};

const FIRST: &str = "first";

pub const CHECKS: &[&str] = &[FIRST];

/// Lesson {number}'s judge.
#[derive(Debug)]
pub struct Judge;

impl Lesson for Judge {{
    const SLUG: &'static str = "{number:02}_{name}";
    const CHECKS: &'static [&'static str] = CHECKS;

    fn judge<'a>(learner: &'a Learner, recorder: &'a mut Recorder, seed: u64) -> JudgeFuture<'a> {{
        Box::pin(run(learner, recorder, seed))
    }}
}}

/// Judges `app` on a thread of this process (the project's tests).
pub async fn judge_in_process(app: App, seed: u64) -> Judged {{
    judge::in_process::<Judge, _>(|| Adapter {{ app }}, seed).await
}}

async fn run(learner: &Learner, recorder: &mut Recorder, _seed: u64) -> Result<(), Lost> {{
    let served: Returned<Result<String, String>> = learner.call("app()", &(), Duration::from_secs(5)).await?;
    let _base = match served {{
        Returned::Value(Ok(base)) => base,
        _ => {{
            recorder.fail_the_rest(&Failure::new("app() did not serve", "No request can be answered until the router builds."));
            return Ok(());
        }}
    }};
    recorder.fail(FIRST, Failure::new("TODO: judge the learner's server", "TODO: why it matters."));
    Ok(())
}}
"#
    )
}
