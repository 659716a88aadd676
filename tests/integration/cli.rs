//! The runner as a learner uses it: the real binary, in the repository (read-only commands)
//! or in a scratch copy of the course (anything that builds an exercise).

use httplings_judge::lessons::ALL;

use crate::support::{Scratch, httplings};

const ESCAPE: char = '\u{1b}';
const LOGGED: &str = "each database error's details reach the server log, after its request";
const PANIC_LOGGED: &str = "the panic's message reaches the server log";

#[test]
fn a_bad_lesson_number_is_one_line_naming_the_range_and_exit_2() {
    for args in [["check", "0"], ["check", "99"], ["check", "abc"], ["lesson", "42"]] {
        let run = httplings(&args);
        assert_eq!(run.code, Some(2), "{args:?}");
        assert_eq!(run.stderr.lines().count(), 1, "{args:?}: {}", run.stderr);
        let range = format!("from 1 to {}", ALL.len());
        assert!(run.stderr.contains(&range), "{args:?}: {}", run.stderr);
        assert!(run.stdout.is_empty(), "{args:?}");
    }
}

#[test]
fn help_explains_every_command() {
    let run = httplings(&["--help"]);
    assert_eq!(run.code, Some(0));
    for command in ["lesson", "check", "solution", "hint", "list"] {
        assert!(
            run.stdout.contains(&format!("  {command} ")),
            "--help lacks {command}:\n{}",
            run.stdout
        );
    }
}

#[test]
fn list_names_every_lesson_and_its_exercise_file() {
    let run = httplings(&["list"]);
    assert_eq!(run.code, Some(0));
    for lesson in ALL {
        let file = format!("exercises/{}.rs", lesson.slug);
        assert!(run.stdout.contains(&file), "{}", run.stdout);
    }
}

#[test]
fn a_lesson_reads_as_plain_text_when_piped() {
    for number in (1..=ALL.len()).map(|number| number.to_string()) {
        let run = httplings(&["lesson", &number]);
        assert_eq!(run.code, Some(0));
        assert!(!run.stdout.contains(ESCAPE), "escape codes in lesson {number}");
        assert!(!run.stdout.contains("```"), "a code fence was left raw in lesson {number}");
        assert!(run.stdout.lines().count() > 50, "lesson {number} is too short");
    }
}

#[test]
fn colour_can_be_forced() {
    let run = httplings(&["--color", "always", "lesson", "1"]);
    assert!(run.stdout.contains(ESCAPE));
}

/// `--solution` judges the reference instead of the exercise (every lesson's is judged by
/// `check --all` in the class tests, and in process by each lesson's own).
#[test]
fn check_solution_judges_the_reference() {
    let run = Scratch::new("solution-2").httplings(&["check", "2", "--solution"]);
    assert_eq!(run.code, Some(0), "{}\n{}", run.stdout, run.stderr);
    assert!(run.failed().is_empty() && run.passed().len() > 1, "{}", run.stdout);
}

#[test]
fn the_starter_of_lesson_1_fails_the_log_check_and_shows_the_leak() {
    let run = Scratch::new("starter-1").httplings(&["check", "1"]);
    assert!(run.failed().contains(&LOGGED), "{}", run.stdout);
    assert!(run.stdout.contains("+ query q-"), "{}", run.stdout);
    assert!(run.stdout.contains("- expected  + got"));
}

#[test]
fn an_answer_that_logs_nothing_fails_only_the_log_check() {
    let scratch = Scratch::new("logs-nothing");
    scratch.write("exercises/01_generic_500.rs", include_str!("../fixtures/01_logs_nothing.rs"));
    let run = scratch.httplings(&["check", "1"]);
    assert_eq!(run.code, Some(1));
    assert_eq!(run.failed(), [LOGGED], "{}", run.stdout);
}

#[test]
fn a_right_answer_in_another_style_passes_the_log_check_too() {
    let scratch = Scratch::new("eprintln");
    scratch.write(
        "exercises/01_generic_500.rs",
        include_str!("../fixtures/01_eprintln_and_middleware.rs"),
    );
    let run = scratch.httplings(&["check", "1"]);
    assert_eq!(run.code, Some(0), "{}", run.stdout);
}

#[test]
fn a_compile_error_is_shown_and_the_other_exercises_still_check() {
    let scratch = Scratch::new("compile-error");
    let broken =
        scratch.read("exercises/01_generic_500.rs").replace("Router::new()", "Router::new(");
    scratch.write("exercises/01_generic_500.rs", &broken);
    let run = scratch.httplings(&["check", "1"]);
    assert_eq!(run.code, Some(1));
    assert!(run.stdout.contains("error"), "no compiler message:\n{}", run.stdout);
    assert!(run.stdout.contains("exercises/01_generic_500.rs does not compile"), "{}", run.stdout);

    let other = scratch.httplings(&["check", "2", "--solution"]);
    assert_eq!(other.code, Some(0), "{}", other.stdout);
}

#[test]
fn solution_shows_a_diff_against_the_reference() {
    let scratch = Scratch::new("solution-diff");
    let unpassed = scratch.httplings(&["solution", "1"]);
    assert_eq!(unpassed.code, Some(2), "no terminal to ask, so it refuses: {}", unpassed.stderr);
    assert!(unpassed.stderr.contains("--force"), "{}", unpassed.stderr);

    let run = scratch.httplings(&["solution", "1", "--force"]);
    assert_eq!(run.code, Some(0));
    assert!(run.stdout.contains("--- exercises/01_generic_500.rs (yours)"), "{}", run.stdout);
    assert!(
        run.stdout.contains("+        .layer(CatchPanicLayer::custom(answer_panic))"),
        "{}",
        run.stdout
    );
}

#[test]
fn a_silenced_panic_hook_with_nothing_logged_fails_the_panic_log_check() {
    let scratch = Scratch::new("silenced-hook");
    scratch.write("exercises/01_generic_500.rs", include_str!("../fixtures/01_silenced_hook.rs"));
    let run = scratch.httplings(&["check", "1"]);
    assert_eq!(run.failed(), [PANIC_LOGGED], "{}", run.stdout);
}

#[test]
fn a_log_on_stdout_counts_as_much_as_one_on_stderr() {
    let scratch = Scratch::new("stdout-subscriber");
    scratch
        .write("exercises/01_generic_500.rs", include_str!("../fixtures/01_stdout_subscriber.rs"));
    let run = scratch.httplings(&["check", "1"]);
    assert_eq!(run.code, Some(0), "{}", run.stdout);
}

#[test]
fn a_seed_replays_a_run_and_the_report_prints_it() {
    let scratch = Scratch::new("seed");
    let first = scratch.httplings(&["check", "2", "--seed", "4242"]);
    let again = scratch.httplings(&["check", "2", "--seed", "4242"]);
    assert!(
        first.stdout.contains("seed 4242 (replay it: `cargo run -- check 2 --seed 4242`)"),
        "{}",
        first.stdout
    );
    // The generated inputs, and so the whole report, are the same.
    assert_eq!(first.stdout, again.stdout);
    let other = scratch.httplings(&["check", "2", "--seed", "4243"]);
    assert_ne!(first.stdout, other.stdout, "another seed, other inputs");
}

#[test]
fn a_check_without_a_number_checks_the_current_exercise() {
    let scratch = Scratch::new("current");
    let first = scratch.httplings(&["check"]);
    assert!(first.stdout.starts_with("Checking your exercise for lesson 1"), "{}", first.stdout);
    scratch.httplings(&["check", "2"]);
    let hint = scratch.httplings(&["hint"]);
    assert!(hint.stdout.contains("for lesson 2"), "the last checked is current: {}", hint.stdout);
}

#[test]
fn compiler_warnings_are_shown_when_a_check_passes_too() {
    let scratch = Scratch::new("warnings");
    let solution = std::fs::read_to_string(
        std::path::Path::new(crate::support::ROOT).join("solutions/02_retry_after.rs"),
    )
    .unwrap();
    let with_warning = solution.replace(
        "pub fn app(db: Database) -> Router {",
        "pub fn app(db: Database) -> Router {\n    let unused = 1;",
    );
    scratch.write("exercises/02_retry_after.rs", &with_warning);
    let run = scratch.httplings(&["check", "2"]);
    assert_eq!(run.code, Some(0), "{}", run.stdout);
    let warning =
        run.stdout.lines().find(|line| line.starts_with("warning: unused variable: `unused`"));
    assert!(
        warning.is_some_and(|line| line.contains("(exercises/02_retry_after.rs:")),
        "{}",
        run.stdout
    );
}

#[test]
fn the_readme_documents_every_command_and_flag_that_help_shows() {
    let readme =
        std::fs::read_to_string(std::path::Path::new(crate::support::ROOT).join("README.md"))
            .unwrap();
    let commands = ["watch", "lesson", "check", "hint", "solution", "reset", "quiz", "list"];
    for command in commands {
        assert!(
            readme.contains(&format!("cargo run -- {command}")),
            "the README lacks `{command}`"
        );
        let help = httplings(&[command, "--help"]);
        for flag in help
            .stdout
            .split_whitespace()
            .filter(|word| word.starts_with("--") && *word != "--help")
        {
            let flag = flag.trim_end_matches([',', '.']).split('=').next().unwrap();
            assert!(readme.contains(flag), "the README lacks `{command} {flag}`:\n{}", help.stdout);
        }
    }
}
