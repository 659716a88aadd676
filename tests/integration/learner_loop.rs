//! The learner's loop around the checks: watch mode, progress, hints, reset, solutions, the
//! quiz and machine-readable results, driven through the real binary.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use serde_json::Value;

use crate::support::{ROOT, Scratch, Tmux, shell_running};

const ESCAPE: char = '\u{1b}';

fn solution(file: &str) -> String {
    std::fs::read_to_string(Path::new(ROOT).join("solutions").join(file)).unwrap()
}

#[test]
fn reset_asks_first_keeps_a_backup_and_restores_the_starter() {
    let scratch = Scratch::new("reset");
    let mine = solution("01_generic_500.rs");
    scratch.write("exercises/01_generic_500.rs", &mine);

    let unasked = scratch.httplings(&["reset", "1"]);
    assert_eq!(unasked.code, Some(2), "no terminal to ask: it refuses");
    assert!(unasked.stderr.contains("--yes"), "{}", unasked.stderr);
    assert_eq!(scratch.read("exercises/01_generic_500.rs"), mine, "nothing changed without a yes");

    let run = scratch.httplings(&["reset", "1", "--yes"]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(
        scratch.read("exercises/01_generic_500.rs"),
        scratch.read("exercises/.starters/01_generic_500.rs")
    );
    let backup =
        run.stdout.split("saved as ").nth(1).and_then(|rest| rest.strip_suffix(".\n")).unwrap();
    assert_eq!(scratch.read(backup), mine, "the learner's file is kept whole");
}

#[test]
fn hints_come_one_more_each_time_and_survive_a_corrupt_progress_file() {
    let scratch = Scratch::new("hints");
    scratch.write(".httplings/progress.json", "{ this is not json");
    let first = scratch.httplings(&["hint", "3"]);
    assert_eq!(first.code, Some(0));
    assert_eq!(
        first.stderr.lines().count(),
        1,
        "one line says the file was rebuilt: {}",
        first.stderr
    );
    assert!(first.stdout.starts_with("Hint 1/9 for lesson 3"), "{}", first.stdout);

    let second = scratch.httplings(&["hint", "3"]);
    assert!(second.stderr.is_empty(), "the rebuilt file reads back: {}", second.stderr);
    assert!(second.stdout.starts_with("Hint 2/9"), "{}", second.stdout);
    for next in ["Hint 3/9", "Hint 4/9", "Hint 5/9", "Hint 6/9", "Hint 7/9", "Hint 8/9"] {
        assert!(scratch.httplings(&["hint", "3"]).stdout.starts_with(next));
    }
    let last = scratch.httplings(&["hint", "3"]).stdout;
    assert!(last.starts_with("Hint 9/9") && last.contains("you have seen every hint"), "{last}");
    for next in ["Hint 1/9", "Hint 2/9"] {
        let again = scratch.httplings(&["hint", "3"]).stdout;
        assert!(again.starts_with(next), "then round again, in order: {again}");
    }
}

#[test]
fn hints_follow_the_first_check_that_failed() {
    let scratch = Scratch::new("hints-follow");
    // The starter's first failing check is the 503: its hint comes before the lesson's first.
    assert_eq!(scratch.httplings(&["check", "2"]).code, Some(1));
    let hint = scratch.httplings(&["hint", "2"]);
    assert!(hint.stdout.contains("while the database is down"), "{}", hint.stdout);
    assert!(hint.stdout.starts_with("Hint 2/10 for lesson 2"), "{}", hint.stdout);
}

#[test]
fn check_json_follows_the_exercism_spec_for_pass_fail_and_error() {
    let scratch = Scratch::new("json");
    let parse = |args: &[&str]| -> (Option<i32>, Value) {
        let run = scratch.httplings(args);
        let json = serde_json::from_str(&run.stdout)
            .unwrap_or_else(|error| panic!("{error}: {}", run.stdout));
        (run.code, json)
    };

    let (code, passing) = parse(&["check", "2", "--solution", "--json"]);
    assert_eq!(
        (code, passing["version"].as_u64(), passing["status"].as_str()),
        (Some(0), Some(3), Some("pass"))
    );
    assert_spec_fields(&passing);
    let tests = passing["tests"].as_array().unwrap();
    assert_eq!(tests.len(), 10);
    assert!(tests.iter().all(|test| test["status"] == "pass" && test.get("message").is_none()));

    let (code, failing) = parse(&["check", "1", "--json"]);
    assert_eq!((code, failing["status"].as_str()), (Some(1), Some("fail")));
    assert_spec_fields(&failing);
    let failed =
        failing["tests"].as_array().unwrap().iter().find(|test| test["status"] == "fail").unwrap();
    // The whole failure is in the message: what, the evidence, and why.
    let message = failed["message"].as_str().unwrap();
    assert!(
        message.contains("- expected  + got") && message.contains("Why it matters:"),
        "{message}"
    );
    // What the learner's code printed is the output: the starter's panic reports, here.
    let printed: Vec<&str> = failing["tests"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|test| test["output"].as_str())
        .collect();
    assert!(printed.iter().any(|output| output.contains("learner code panicked")), "{failing}");
    assert!(
        printed.iter().all(|output| output.chars().count() <= 500 + 60),
        "truncated as the spec says"
    );

    scratch.write("exercises/02_retry_after.rs", "this is not rust");
    let (code, error) = parse(&["check", "2", "--json"]);
    assert_eq!((code, error["status"].as_str()), (Some(1), Some("error")));
    assert!(error["message"].as_str().unwrap().contains("error"), "{error}");
    assert_eq!(error["tests"].as_array().map(Vec::len), Some(0));
}

/// The fields of exercism's test-runner interface, version 3: nothing missing, nothing else.
#[track_caller]
fn assert_spec_fields(results: &Value) {
    let top: Vec<&str> = results.as_object().unwrap().keys().map(String::as_str).collect();
    // The spec's, and ours beside them: what walled the learner's code in.
    assert!(
        top.iter().all(|key| ["version", "status", "message", "tests", "sandbox"].contains(key)),
        "{top:?}"
    );
    assert!(["pass", "fail", "error"].contains(&results["status"].as_str().unwrap()));
    assert_eq!(
        results["status"] == "error",
        results.get("message").is_some(),
        "a message exactly when the status is error"
    );
    for test in results["tests"].as_array().unwrap() {
        let keys: Vec<&str> = test.as_object().unwrap().keys().map(String::as_str).collect();
        assert!(
            keys.iter()
                .all(|key| ["name", "status", "message", "output", "test_code", "task_id"]
                    .contains(key)),
            "{keys:?}"
        );
        assert!(test["name"].is_string());
        assert!(["pass", "fail", "error"].contains(&test["status"].as_str().unwrap()));
        assert_eq!(test["status"] != "pass", test["message"].is_string(), "{test}");
    }
}

#[test]
fn piped_output_has_no_escape_codes_and_list_shows_progress() {
    let scratch = Scratch::new("piped");
    let check = scratch.httplings(&["check", "1"]);
    assert_eq!(check.code, Some(1));
    assert!(!check.stdout.contains(ESCAPE) && !check.stderr.contains(ESCAPE));

    scratch.write("exercises/02_retry_after.rs", &solution("02_retry_after.rs"));
    assert_eq!(scratch.httplings(&["check", "2"]).code, Some(0));
    // Each line: an arrow at the current lesson, then number, status, title and file.
    let statuses = || {
        let list = scratch.httplings(&["list"]).stdout;
        let status = |number: &str| {
            let words = |line: &str| -> Vec<String> {
                line.split_whitespace().filter(|word| *word != "→").map(String::from).collect()
            };
            let line = list.lines().map(words).find(|words| words[0] == number);
            line.unwrap_or_else(|| panic!("no lesson {number} in:\n{list}"))[1].clone()
        };
        [status("1"), status("2"), status("3")]
    };
    assert_eq!(statuses(), ["failing", "done", "pending"]);
    // Changed since it passed: not "pending", the word for a lesson never checked.
    scratch.write(
        "exercises/02_retry_after.rs",
        &format!("{}\n// an edit\n", solution("02_retry_after.rs")),
    );
    assert_eq!(statuses(), ["failing", "changed", "pending"]);
    let asked = scratch.httplings_with_input(&["solution", "2"], "");
    assert!(asked.stderr.contains("passed, but has changed since"), "{}", asked.stderr);
}

#[test]
fn the_quiz_takes_answers_on_standard_input_and_records_them() {
    let scratch = Scratch::new("quiz");
    let run = scratch.httplings(&["quiz", "3"]);
    assert_eq!(run.code, Some(1), "no answers, no pass");
    assert!(run.stdout.contains("Should a client retry a 500"), "{}", run.stdout);
    for option in ["a)", "b)", "c)", "d)"] {
        assert!(run.stdout.contains(option), "{}", run.stdout);
    }
    assert!(run.stdout.contains("questions answered"), "no input, no answer: {}", run.stdout);
    // Piped, the options keep the lesson's order: the same letters score the same every time.
    let right = answers_of(3);
    for _ in 0..3 {
        let answered = scratch.httplings_with_input(&["quiz", "3"], &right);
        assert_eq!(answered.code, Some(0), "{}{}", answered.stdout, answered.stderr);
        assert!(answered.stdout.contains("5 of 5 right."), "{}", answered.stdout);
    }
    let wrong = right.replacen('c', "a", 1);
    let answered = scratch.httplings_with_input(&["quiz", "3"], &wrong);
    assert_eq!(answered.code, Some(1), "{}", answered.stdout);
    assert!(answered.stdout.contains("4 of 5 right."), "{}", answered.stdout);
    let list = scratch.httplings(&["list"]);
    assert!(list.stdout.contains("quiz "), "{}", list.stdout);
}

/// The right letters of lesson `number`'s quiz, one per line, read from its data file.
fn answers_of(number: usize) -> String {
    let lesson = httplings_judge::lessons::ALL[number - 1];
    let data: toml::Table = lesson.info.parse().unwrap();
    let quiz = data["quiz"].as_array().unwrap();
    quiz.iter().map(|question| format!("{}\n", question["answer"].as_str().unwrap())).collect()
}

#[test]
fn reset_all_backs_up_every_changed_exercise() {
    let scratch = Scratch::new("reset-all");
    scratch.write("exercises/01_generic_500.rs", "// mine, lesson 1");
    scratch.write("exercises/03_retry_on_5xx.rs", "// mine, lesson 3");
    let refused = scratch.httplings(&["reset", "--all"]);
    assert_eq!(refused.code, Some(2), "no terminal to ask: {}", refused.stderr);
    assert_eq!(scratch.read("exercises/01_generic_500.rs"), "// mine, lesson 1");
    let run = scratch.httplings(&["reset", "--all", "--yes"]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(run.stdout.matches("saved as").count(), 2, "{}", run.stdout);
    assert!(
        run.stdout.contains("exercises/02_retry_after.rs is already the starter"),
        "{}",
        run.stdout
    );
    let backups = std::fs::read_dir(scratch.root().join("exercises/.backup")).unwrap().count();
    assert_eq!(backups, 2);
}

#[test]
fn watch_mode_without_a_terminal_says_what_to_do_instead() {
    let run = Scratch::new("watch-no-tty").httplings(&[]);
    assert_eq!(run.code, Some(2));
    assert!(run.stderr.contains("cargo run -- check N"), "{}", run.stderr);
}

#[test]
fn watch_mode_rechecks_on_save_keeps_progress_made_elsewhere_and_quits_cleanly() {
    if Command::new("tmux").arg("-V").output().is_err() {
        eprintln!("tmux is not installed: watch mode is not exercised here (.ci/run installs it)");
        return;
    }
    let scratch = Scratch::new("watch");
    let tmux = Tmux { socket: format!("httplings-test-{}", std::process::id()) };
    let shell = shell_running(&scratch, "", "echo AFTER-QUIT");
    let started =
        tmux.command(&["new-session", "-d", "-s", "watch", "-x", "90", "-y", "60", &shell]);
    assert!(started.status.success(), "{}", String::from_utf8_lossy(&started.stderr));

    let screen = tmux.wait_for("5 of 9 checks pass", Duration::from_secs(120));
    // The summary is longer than the terminal is wide: wrapped between words, never inside one.
    // And in watch mode it speaks of saving and keys, not commands.
    for word in ["again.", "Stuck?", "Press", "h."] {
        assert!(
            screen
                .split_whitespace()
                .any(|token| token.trim_matches('`') == word.trim_matches('`')),
            "{word:?} split:\n{screen}"
        );
    }
    // A save that changes nothing checks nothing, and says how to check again.
    let unchanged = scratch.read("exercises/01_generic_500.rs");
    scratch.write("exercises/01_generic_500.rs", &unchanged);
    tmux.wait_for("saved without changes", Duration::from_secs(10));

    // Another terminal checks every other lesson: watch mode shows it, and keeps it. What is
    // proven here is watch mode, not the judges: a reference answer's check that fails beside
    // the other tests (every one of them judging timing on the same two cores) runs again, as
    // a learner would run it, and only one that fails three times fails this test.
    let count = httplings_judge::lessons::ALL.len();
    for (number, lesson) in httplings_judge::lessons::ALL.iter().enumerate().skip(1) {
        let file = format!("{}.rs", lesson.slug);
        scratch.write(&format!("exercises/{file}"), &solution(&file));
        let number = (number + 1).to_string();
        let mut run = scratch.httplings(&["check", &number]);
        for _ in 1..3 {
            if run.code == Some(0) {
                break;
            }
            // Kept in the test's output: a judge that fails its reference under load shows.
            eprintln!("lesson {number} failed, checked again:\n{}", run.stdout);
            run = scratch.httplings(&["check", &number]);
        }
        assert_eq!(run.code, Some(0), "lesson {number}:\n{}\n{}", run.stdout, run.stderr);
    }
    let all_but_one = format!("{}/{count} exercises", count - 1);
    tmux.wait_for(&all_but_one, Duration::from_secs(30));
    scratch.write("exercises/01_generic_500.rs", &solution("01_generic_500.rs"));
    let screen = tmux.wait_for("All 9 checks pass", Duration::from_secs(60));
    assert!(screen.contains(&format!("{count}/{count} exercises")), "{screen}");
    assert!(screen.contains("every exercise passes"), "{screen}");
    let progress: Value = serde_json::from_str(&scratch.read(".httplings/progress.json")).unwrap();
    for lesson in (1..=count).map(|number| number.to_string()) {
        assert_eq!(
            progress["lessons"][&lesson]["checked"][0], "done",
            "lesson {lesson} lost: {progress}"
        );
    }

    // A re-check that fails redraws everything: no word left of the course being done.
    scratch.write(
        "exercises/01_generic_500.rs",
        &scratch.read("exercises/.starters/01_generic_500.rs"),
    );
    let screen = tmux.wait_for("5 of 9 checks pass", Duration::from_secs(60));
    assert!(
        !screen.contains("every exercise passes") && !screen.contains("course is done"),
        "{screen}"
    );
    assert!(screen.contains(&all_but_one), "{screen}");

    tmux.command(&["send-keys", "-t", "watch", "h"]);
    tmux.wait_for("press h again", Duration::from_secs(10));

    // A compile error names the file as the learner opened it, and says to save.
    scratch.write("exercises/01_generic_500.rs", "pub fn app( {");
    let screen = tmux.wait_for("does not compile", Duration::from_secs(60));
    assert!(screen.contains("exercises/01_generic_500.rs:1:"), "{screen}");
    assert!(!screen.contains("src/bin/"), "{screen}");
    let words = screen.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(words.contains("and save: the check runs again"), "{screen}");
    scratch.write(
        "exercises/01_generic_500.rs",
        &scratch.read("exercises/.starters/01_generic_500.rs"),
    );
    tmux.wait_for("5 of 9 checks pass", Duration::from_secs(60));

    // Moving on from a failing lesson asks first; another key stays, n again moves on.
    tmux.command(&["send-keys", "-t", "watch", "n"]);
    tmux.wait_for("press n again to move on anyway", Duration::from_secs(10));
    // Nor does it take the question away: a late file event or an editor's autosave.
    let unchanged = scratch.read("exercises/01_generic_500.rs");
    scratch.write("exercises/01_generic_500.rs", &unchanged);
    std::thread::sleep(Duration::from_secs(1));
    let screen = tmux.screen();
    assert!(screen.contains("press n again to move on anyway"), "{screen}");
    tmux.command(&["send-keys", "-t", "watch", "l"]);
    let screen = tmux.wait_for("Choose a lesson", Duration::from_secs(10));
    assert!(screen.contains("lesson 1/"), "{screen}");
    tmux.command(&["send-keys", "-t", "watch", "Escape"]);
    tmux.command(&["send-keys", "-t", "watch", "n"]);
    tmux.wait_for("press n again", Duration::from_secs(10));
    tmux.command(&["send-keys", "-t", "watch", "n"]);
    tmux.wait_for("lesson 2/", Duration::from_secs(60));

    // Every redraw was in place: the scrollback holds no copy of a live line, and each report's
    // first line once at most (reports taller than the screen scroll their top there once).
    let history = tmux.history();
    assert!(!history.contains("checks decided"), "live lines in the scrollback:\n{history}");
    let copies = history.matches("✗ ").count();
    let reports = 5;
    assert!(copies <= reports * 9, "{copies} ✗ lines in the scrollback for {reports} reports");

    tmux.command(&["send-keys", "-t", "watch", "q"]);
    let screen = tmux.wait_for("AFTER-QUIT", Duration::from_secs(10));
    assert!(
        screen.lines().any(|line| line.starts_with("AFTER-QUIT")),
        "the shell's next line is its own:\n{screen}"
    );
}

#[test]
fn a_check_that_waits_says_so_in_a_terminal_then_reports() {
    if Command::new("tmux").arg("-V").output().is_err() {
        eprintln!(
            "tmux is not installed: the live line is not exercised here (.ci/run installs it)"
        );
        return;
    }
    let scratch = Scratch::new("live-line");
    scratch.write(
        "exercises/01_generic_500.rs",
        include_str!("../fixtures/hostile/01_blocking_sleep.rs"),
    );
    let tmux = Tmux { socket: format!("httplings-live-{}", std::process::id()) };
    let shell = shell_running(&scratch, "check 1 --time-limit 4", "true");
    let started =
        tmux.command(&["new-session", "-d", "-s", "watch", "-x", "100", "-y", "50", &shell]);
    assert!(started.status.success(), "{}", String::from_utf8_lossy(&started.stderr));
    tmux.wait_for("running… 2 s (0 of 9 checks decided)", Duration::from_secs(60));
    let screen = tmux.wait_for("checks pass.", Duration::from_secs(20));
    assert!(!screen.contains("running…"), "the live line is gone once the report is in:\n{screen}");
    assert!(screen.contains("the checks were stopped after 4 s"), "{screen}");
}

/// `list` in terminals 80, 120 and 200 columns wide: one row per lesson, never wrapped, titles
/// cut short only where they must be.
#[test]
fn list_rows_are_one_line_each_at_every_width() {
    if Command::new("tmux").arg("-V").output().is_err() {
        eprintln!("tmux is not installed: the list's widths are not exercised here");
        return;
    }
    let scratch = Scratch::new("list-widths");
    for width in [80, 120, 200] {
        let tmux = Tmux { socket: format!("httplings-list-{width}-{}", std::process::id()) };
        let shell = shell_running(&scratch, "list < /dev/null", "echo LISTED-$((40 + 2))");
        let size = width.to_string();
        tmux.command(&["new-session", "-d", "-s", "watch", "-x", &size, "-y", "30", &shell]);
        let screen = tmux.wait_for("LISTED-42", Duration::from_secs(30));
        let rows: Vec<&str> = screen.lines().filter(|line| line.contains("exercises/")).collect();
        assert_eq!(rows.len(), httplings_judge::lessons::ALL.len(), "at {width}:\n{screen}");
        for row in rows {
            let lesson = row.trim_start_matches(['→', ' ']).split_whitespace().next();
            assert!(
                lesson.is_some_and(|n| n.parse::<u8>().is_ok()),
                "at {width}, wrapped: {row:?}"
            );
            assert!(row.chars().count() <= width, "at {width}: {row:?}");
        }
        if width >= 120 {
            assert!(!screen.contains('…'), "at {width}, a title was cut:\n{screen}");
        }
    }
}

/// After an edit, a check compiles the exercise as cargo last did, without cargo; anything else
/// that changed what the exercise is built from sends it back to cargo.
#[test]
fn a_check_compiles_an_edit_without_cargo_until_what_it_links_changes() {
    let scratch = Scratch::new("direct-build");
    let without_cargo = |args: &[&str]| {
        let output = scratch.command(args).env("CARGO", "/bin/false").output().unwrap();
        (output.status.code(), String::from_utf8_lossy(&output.stdout).into_owned())
    };
    let first = scratch.httplings(&["check", "1"]);
    assert!(first.stdout.contains("5 of 9 checks pass"), "{}", first.stdout);

    scratch.write("exercises/01_generic_500.rs", &solution("01_generic_500.rs"));
    let (code, stdout) = without_cargo(&["check", "1"]);
    assert_eq!(code, Some(0), "the edit compiled and passed without cargo:\n{stdout}");

    scratch.write("exercises/01_generic_500.rs", "pub fn app( {");
    let (code, stdout) = without_cargo(&["check", "1"]);
    assert_eq!(code, Some(1));
    assert!(stdout.contains("exercises/01_generic_500.rs:1:"), "{stdout}");
    assert!(!stdout.contains("aborting due to"), "cargo leaves the count out:\n{stdout}");

    // The check target's own file is part of what the command was recorded with.
    let target = "kit/src/bin/exercise_01.rs";
    std::thread::sleep(Duration::from_millis(20));
    scratch.write(target, &scratch.read(target));
    scratch.write("exercises/01_generic_500.rs", &solution("01_generic_500.rs"));
    let (code, stdout) = without_cargo(&["check", "1"]);
    assert_ne!(code, Some(0), "a stale command was replayed:\n{stdout}");
    let again = scratch.httplings(&["check", "1"]);
    assert_eq!(again.code, Some(0), "{}", again.stdout);

    // A file checked again unchanged is not compiled again: with the recorded command made one
    // that fails, the check still passes; after an edit, it cannot.
    let (code, _) = without_cargo(&["check", "1"]);
    assert_eq!(code, Some(0), "the edit compiled without cargo once more");
    let records = scratch.target().join("httplings");
    for record in std::fs::read_dir(&records).unwrap() {
        let path = record.unwrap().path();
        let mut json: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        json["args"].as_array_mut().unwrap().push("--no-such-option".into());
        std::fs::write(&path, json.to_string()).unwrap();
    }
    let (code, stdout) = without_cargo(&["check", "1"]);
    assert_eq!(code, Some(0), "an unchanged file was compiled again:\n{stdout}");
    scratch.write(
        "exercises/01_generic_500.rs",
        &format!("{}\n// edited", solution("01_generic_500.rs")),
    );
    let (code, stdout) = without_cargo(&["check", "1"]);
    assert_ne!(code, Some(0), "an edited file was not compiled:\n{stdout}");
}
