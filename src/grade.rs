//! `grade FILES…`: a teacher's view of a class. Each file is one student's
//! `check --all --json` document (a CI artifact); the table has a row per student and a column
//! per lesson, and says whose course fingerprint differs from the course's.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use serde_json::Value;

use crate::UsageError;
use crate::reporter::Reporter;

/// One student's results, as read from their document.
#[derive(Debug)]
pub struct Student {
    pub name: String,
    /// Each lesson's number, with its checks passed and its checks.
    pub lessons: BTreeMap<u64, (u64, u64)>,
    pub course_hash: String,
    /// Why the file could not be read, if it could not.
    pub unreadable: Option<String>,
}

impl Student {
    pub fn passed(&self, lesson: u64) -> Option<bool> {
        self.lessons.get(&lesson).map(|(passed, total)| passed == total && *total > 0)
    }
}

pub fn run(
    files: &[PathBuf],
    csv: bool,
    course_hash: Option<String>,
    reporter: &mut Reporter,
) -> anyhow::Result<ExitCode> {
    if files.is_empty() {
        return Err(UsageError(
            "name the students' result files: `cargo run -- grade results/*.json`".into(),
        )
        .into());
    }
    let students: Vec<Student> = files.iter().map(|file| read(file)).collect();
    if students.iter().all(|student| student.unreadable.is_some()) {
        return Err(UsageError(format!(
            "none of the {} files is a `check --all --json` result ({})",
            files.len(),
            students[0].unreadable.as_deref().unwrap_or_default()
        ))
        .into());
    }
    // The course's own fingerprint when given, or else the one most students have.
    let expected = course_hash
        .or_else(|| most_common(students.iter().map(|student| student.course_hash.as_str())));
    if csv {
        reporter.grade_csv(&students, expected.as_deref())?;
    } else {
        reporter.grade_table(&students, expected.as_deref())?;
    }
    Ok(ExitCode::SUCCESS)
}

fn read(file: &Path) -> Student {
    let name = student_name(file);
    let parsed =
        std::fs::read_to_string(file).map_err(|error| error.to_string()).and_then(|text| {
            serde_json::from_str::<Value>(&text).map_err(|error| format!("not JSON: {error}"))
        });
    let document = match parsed {
        Ok(document) if document["lessons"].is_array() => document,
        Ok(_) => return unreadable(name, "not a `check --all --json` result"),
        Err(why) => return unreadable(name, &why),
    };
    let lessons = document["lessons"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|lesson| {
            let passed = lesson["checks_passed"].as_u64()?;
            Some((lesson["number"].as_u64()?, (passed, lesson["checks"].as_u64()?)))
        })
        .collect();
    let course_hash = document["course_hash"].as_str().unwrap_or_default().to_string();
    Student { name, lessons, course_hash, unreadable: None }
}

fn unreadable(name: String, why: &str) -> Student {
    Student {
        name,
        lessons: BTreeMap::new(),
        course_hash: String::new(),
        unreadable: Some(why.to_string()),
    }
}

/// A student is named by the folder of their artifact (`artifacts/alice/results.json` is
/// alice's), or else by the file's own name.
fn student_name(file: &Path) -> String {
    let stem = file.file_stem().map(|stem| stem.to_string_lossy().into_owned()).unwrap_or_default();
    let folder =
        file.parent().and_then(Path::file_name).map(|name| name.to_string_lossy().into_owned());
    match folder {
        Some(folder) if stem.starts_with("httplings") || stem == "results" => folder,
        _ => stem,
    }
}

fn most_common<'a>(hashes: impl Iterator<Item = &'a str>) -> Option<String> {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for hash in hashes.filter(|hash| !hash.is_empty()) {
        *counts.entry(hash).or_default() += 1;
    }
    counts.into_iter().max_by_key(|(_, count)| *count).map(|(hash, _)| hash.to_string())
}
