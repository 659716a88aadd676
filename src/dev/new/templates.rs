//! What `dev new` writes: each part of a new lesson, as a stub that compiles and whose one
//! check fails, so that `dev check` shows what is left to write.

pub(super) fn lesson_text(number: usize) -> String {
    format!(
        "# TODO: the title\n\nTODO: what to know, in your own words.\n\n## The exercise\n\nOpen \
         `exercises/…` and follow its `// TODO`s, then run `cargo run -- check {number}`.\n"
    )
}

pub(super) fn lesson_data() -> String {
    "title = \"TODO: the title\"\ntime_limit_seconds = 30\n\n[[checks]]\nid = \"first\"\nname = \"TODO: the first check\"\nwhy = \"TODO: why it matters.\"\n\n[[hints]]\ntext = \"TODO: a first hint.\"\n\n\
     [[quiz]]\nquestion = \"TODO: a question?\"\noptions = [\"TODO: the answer\", \"TODO: a plausible distractor\"]\n\
     answer = \"a\"\nexplanation = \"TODO: why.\"\n"
        .to_string()
}

pub(super) fn exercise(number: usize, purpose: &str) -> String {
    format!(
        "//! Lesson {number}. {purpose}\n//!\n//! Check it with `cargo run -- check {number}`.\n\n\
         use axum::Router;\n\n// TODO: the exercise's contract.\npub fn app() -> Router {{\n    Router::new()\n}}\n"
    )
}

pub(super) fn check_target(side: &str, number: usize, file: &str, name: &str) -> String {
    let variable = format!("{}_{number:02}", side.to_ascii_uppercase());
    format!(
        "//! Check target: the {side} of `{file}`, handed to its lesson's adapter.\n\n\
         #[path = \"../../../{file}\"]\nmod learner;\n\n\
         fn main() -> std::process::ExitCode {{\n    \
         // What the runner asked cargo to build this from: cargo rebuilds it when that changes.\n    \
         let built_from = option_env!(\"HTTPLINGS_SOURCE_SHA256_{variable}\");\n    \
         httplings::lessons::{name}::main(built_from, learner::app)\n}}\n"
    )
}

pub(super) fn kit_half(number: usize, name: &str) -> String {
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

pub(super) fn judge(number: usize, name: &str) -> String {
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

pub(super) fn test_module(number: usize, name: &str, slug: &str) -> String {
    format!(
        r#"//! Lesson {number}'s judge, proven in process: the solution passes, the starter fails, each
//! known-wrong answer is caught by the check written for it, and right answers in other styles
//! pass. TODO: the known-wrong answers and the other styles.

use httplings_judge::lessons::{name}::{{self, CHECKS}};

use crate::support::{{assert_failed, seed}};

#[path = "../../solutions/{slug}.rs"]
mod solution;

#[path = "../../exercises/.starters/{slug}.rs"]
mod starter;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_solution_passes() {{
    let seed = seed();
    let judged = {name}::judge_in_process(solution::app, seed).await;
    assert_failed(&judged, seed, CHECKS, &[]);
}}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_starter_fails() {{
    let seed = seed();
    let judged = {name}::judge_in_process(starter::app, seed).await;
    assert!(!judged.failed().is_empty(), "the starter passes");
}}
"#
    )
}

pub(super) fn forging_fixture(number: usize, slug: &str) -> String {
    format!(
        r#"//! Lesson {number}, forging: the untouched starter, plus every attempt to forge a pass.

#[path = ".starters/{slug}.rs"]
mod starter;

#[path = "../forge.rs"]
mod forge;

pub fn app() -> axum::Router {{
    forge::forge();
    starter::app()
}}
"#
    )
}
