//! A class graded in CI: `check --all` on fresh copies of the course (solutions in but one
//! lesson broken; starters as shipped), `grade` over the results, and the teachers'
//! workflow files read as GitHub reads them.

use std::path::Path;

use serde_json::Value;
use yaml_rust2::{Yaml, YamlLoader};

use crate::support::{ROOT, Scratch};

fn lessons() -> Vec<&'static str> {
    httplings_judge::lessons::ALL.iter().map(|lesson| lesson.slug).collect()
}

/// The solutions pass, and a lesson that does not compile fails alone, in its own row: one run
/// of three lessons, lesson 2 broken (`dev check`, in CI, runs every solution through the
/// binary; each lesson's own tests judge it in process).
#[test]
fn check_all_builds_once_and_a_broken_lesson_fails_alone() {
    let scratch = Scratch::new("class-solved");
    let chosen = [1, 2, 10];
    for number in chosen {
        let slug = httplings_judge::lessons::ALL[number - 1].slug;
        let solution =
            std::fs::read_to_string(Path::new(ROOT).join(format!("solutions/{slug}.rs"))).unwrap();
        scratch.write(&format!("exercises/{slug}.rs"), &solution);
    }
    scratch.write("exercises/02_retry_after.rs", "pub fn app( {");
    let run = scratch.httplings(&["--color", "never", "check", "--all", "--only", "1,2,10"]);
    assert_eq!(run.code, Some(1), "{}\n{}", run.stdout, run.stderr);
    let rows: Vec<&str> = run
        .stdout
        .lines()
        .filter(|line| {
            line.ends_with("pass") || line.ends_with("fail") || line.ends_with("compile")
        })
        .collect();
    assert_eq!(rows.len(), chosen.len(), "a row per lesson:\n{}", run.stdout);
    for (row, number) in rows.iter().zip(chosen) {
        assert!(row.trim_start().starts_with(&format!("{number} ")), "{row}\n{}", run.stdout);
        let expected = if number == 2 { "does not compile" } else { "pass" };
        assert!(row.ends_with(expected), "{row}\n{}", run.stdout);
    }
    assert!(run.stdout.contains("2 of 3 lessons pass"), "{}", run.stdout);
}

/// With the starters, every lesson fails usefully (each judged whole, some checks passing, some
/// failing), and the document says so lesson by lesson; its fingerprint is the course's (the
/// exercises are not part of it). Three quick lessons: the forging tests judge every starter.
#[test]
fn check_all_json_with_the_starters_fails_every_lesson() {
    let scratch = Scratch::new("class-starters");
    let chosen = [1, 2, 10];
    let run = scratch.httplings(&["check", "--all", "--only", "1,2,10", "--json"]);
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    let document: Value = serde_json::from_str(&run.stdout).expect("one JSON document");
    let lessons = document["lessons"].as_array().unwrap();
    assert_eq!(lessons.len(), chosen.len());
    for (lesson, number) in lessons.iter().zip(chosen) {
        let known = &httplings_judge::lessons::ALL[number - 1];
        assert_eq!(lesson["number"], number, "{lesson}");
        assert_eq!(lesson["results"]["status"], "fail", "{lesson}");
        let (passed, checks) = (lesson["checks_passed"].as_u64(), lesson["checks"].as_u64());
        assert!(passed > Some(0) && passed < checks, "{lesson}");
        let tests = lesson["results"]["tests"].as_array().unwrap();
        assert_eq!(tests.len(), known.checks.len(), "{lesson}");
        assert!(tests.iter().all(|test| test["status"] != "error"), "judged whole: {lesson}");
    }
    let summary = &document["summary"];
    assert_eq!(summary["lessons_passed"], 0);
    assert!(summary["sandbox"]["seccomp"].is_boolean(), "{summary}");
    assert_eq!(document["httplings"], env!("CARGO_PKG_VERSION"));
    assert!(document["seed"].is_u64());
    let hash = document["course_hash"].as_str().unwrap();
    assert_eq!(hash.len(), 64);

    // Solving a lesson leaves the course as it was; a lesson that does not exist is a usage
    // error.
    let solution = std::fs::read_to_string(Path::new(ROOT).join("solutions/01_generic_500.rs"));
    scratch.write("exercises/01_generic_500.rs", &solution.unwrap());
    let solved = scratch.httplings(&["check", "--all", "--only", "1", "--json"]);
    let solved: Value = serde_json::from_str(&solved.stdout).unwrap();
    assert_eq!(solved["lessons"].as_array().unwrap().len(), 1);
    assert_eq!(solved["summary"]["lessons_passed"], 1, "{solved}");
    assert_eq!(solved["course_hash"], hash, "solving or not, the course is the same");
    let bad = scratch.httplings(&["check", "--all", "--only", "1,99"]);
    assert_eq!((bad.code, bad.stderr.lines().count()), (Some(2), 1), "{}", bad.stderr);

    // `grade` reads it, and tells a tampered course from the course.
    let results = scratch.root().join("results");
    for student in ["alice", "bob"] {
        std::fs::create_dir_all(results.join(student)).unwrap();
        std::fs::write(results.join(student).join("httplings-results.json"), &run.stdout).unwrap();
    }
    let tampered = run.stdout.replace(hash, &"0".repeat(64));
    std::fs::create_dir_all(results.join("carol")).unwrap();
    std::fs::write(results.join("carol/httplings-results.json"), tampered).unwrap();
    let files: Vec<String> = ["alice", "bob", "carol"]
        .iter()
        .map(|student| format!("results/{student}/httplings-results.json"))
        .collect();
    let mut args = vec!["--color", "never", "grade"];
    args.extend(files.iter().map(String::as_str));
    let table = scratch.httplings(&args);
    assert_eq!(table.code, Some(0), "{}", table.stderr);
    let row = |student: &str| {
        table.stdout.lines().find(|line| line.starts_with(student)).unwrap_or_default().to_string()
    };
    assert!(
        row("alice").ends_with("same") && row("carol").ends_with("differs"),
        "{}",
        table.stdout
    );
    args.insert(3, "--csv");
    let csv = scratch.httplings(&args);
    assert!(csv.stdout.starts_with("student,lesson 1,"), "{}", csv.stdout);
    assert!(csv.stdout.contains("\ncarol,") && csv.stdout.lines().count() == 4, "{}", csv.stdout);
}

fn workflow(file: &str) -> Yaml {
    let text =
        std::fs::read_to_string(Path::new(ROOT).join(".github/workflows").join(file)).unwrap();
    YamlLoader::load_from_str(&text).expect("valid YAML").remove(0)
}

/// The actions a workflow uses (`uses:`), owner/name without the version.
fn actions(workflow: &Yaml) -> Vec<String> {
    let jobs = workflow["jobs"].as_hash().expect("jobs");
    jobs.values()
        .flat_map(|job| job["steps"].as_vec().expect("steps").iter())
        .filter_map(|step| step["uses"].as_str())
        .map(|uses| uses.split('@').next().unwrap_or_default().to_string())
        .collect()
}

#[test]
fn the_workflows_run_the_one_command_with_actions_a_teacher_trusts() {
    let trusted =
        ["actions/checkout", "dtolnay/rust-toolchain", "actions/cache", "actions/upload-artifact"];
    let grading = workflow("httplings.yml");
    assert!(
        actions(&grading).iter().all(|action| trusted.contains(&action.as_str())),
        "{:?}",
        actions(&grading)
    );
    let steps = grading["jobs"]["check"]["steps"].as_vec().unwrap();
    let runs: Vec<&str> = steps.iter().filter_map(|step| step["run"].as_str()).collect();
    assert_eq!(runs, ["cargo run --quiet -- check --all --json > httplings-results.json"]);

    let classroom = workflow("classroom.yml");
    let graders = [
        "classroom-resources/autograding-command-grader",
        "classroom-resources/autograding-grading-reporter",
    ];
    for action in actions(&classroom) {
        assert!(
            trusted.contains(&action.as_str()) || graders.contains(&action.as_str()),
            "{action}"
        );
    }
    let tests = classroom["jobs"]["grade"]["steps"]
        .as_vec()
        .unwrap()
        .iter()
        .filter(|step| step["uses"].as_str().is_some_and(|uses| uses.contains("command-grader")))
        .count();
    assert_eq!(tests, lessons().len(), "one autograding test per lesson");
}
