//! `check --all`, as a class's grader reads it: a row per lesson as it is decided and a
//! summary, or one JSON document with every lesson's exercism result, a summary and the course's
//! fingerprint.

use std::io::{self, Write};

use colored::Colorize;
use serde_json::{Value, json};

use super::{Reporter, json};
use crate::catalog::Side;
use crate::outcome::{Checked, Graded};

impl Reporter {
    pub fn checking_all(&mut self, lessons: usize, side: Side) -> io::Result<()> {
        let whose = match side {
            Side::Exercise => "your exercises",
            Side::Solution => "the reference solutions",
            Side::Starter => "the starters",
        };
        writeln!(self.out, "{} {whose}: {lessons} lessons, built at once\n", "Checking".bold())?;
        writeln!(
            self.out,
            "{}",
            format!("{:>2}  {:<44} {:>7}  status", "#", "lesson", "checks").dimmed()
        )?;
        self.out.flush()
    }

    /// One lesson's row, as soon as it is decided.
    pub fn graded_row(
        &mut self,
        lesson: &crate::catalog::Lesson,
        outcome: &Checked,
    ) -> io::Result<()> {
        let (passed, total) = outcome.counts(lesson);
        let status = match outcome {
            Checked::CompileFailed(_) => "does not compile".red().bold(),
            Checked::Ran(report) if report.passed() => "pass".green().bold(),
            Checked::Ran(report) if report.interruption.is_some() => "stopped early".red().bold(),
            Checked::Ran(_) => "fail".red().bold(),
        };
        let title: String = lesson.title.chars().take(44).collect();
        writeln!(
            self.out,
            "{:>2}  {title:<44} {:>7}  {status}",
            lesson.number,
            format!("{passed}/{total}")
        )?;
        self.out.flush()
    }

    pub fn all_summary(&mut self, graded: &[Graded], seed: u64, side: Side) -> io::Result<()> {
        let (lessons, checks) = totals(graded);
        let line = format!(
            "{} of {} lessons pass ({} of {} checks).",
            lessons.0, lessons.1, checks.0, checks.1
        );
        let line = if lessons.0 == lessons.1 { line.green().bold() } else { line.red().bold() };
        let flag = if side == Side::Solution { " --solution" } else { "" };
        writeln!(self.out, "\n{line} Each lesson's details: `cargo run -- check N`.")?;
        writeln!(
            self.out,
            "{}",
            format!("seed {seed} (replay it: `cargo run -- check --all{flag} --seed {seed}`)")
                .dimmed()
        )
    }

    /// The whole run as one JSON document, alone on stdout.
    pub fn all_json(&mut self, graded: &[Graded], seed: u64, course_hash: &str) -> io::Result<()> {
        colored::control::set_override(false);
        let (lessons, checks) = totals(graded);
        let sandboxes: Vec<&httplings::protocol::Sandbox> = graded
            .iter()
            .filter_map(|graded| match &graded.outcome {
                Checked::Ran(report) => report.sandbox.as_ref(),
                Checked::CompileFailed(_) => None,
            })
            .collect();
        let sandbox = sandboxes.first().map_or(Value::Null, |first| json!(first));
        let document = json!({
            "httplings": env!("CARGO_PKG_VERSION"),
            "seed": seed,
            "course_hash": course_hash,
            "summary": {
                "lessons": lessons.1,
                "lessons_passed": lessons.0,
                "checks": checks.1,
                "checks_passed": checks.0,
                "sandbox": sandbox,
                "sandbox_complete": !sandboxes.is_empty() && sandboxes.iter().all(|sandbox| sandbox.complete()),
            },
            "lessons": graded.iter().map(|graded| {
                let (passed, total) = graded.counts();
                json!({
                    "number": graded.lesson.number,
                    "slug": graded.lesson.slug,
                    "title": graded.lesson.title,
                    "checks": total,
                    "checks_passed": passed,
                    "results": json::results(&graded.outcome, self.prose_width()),
                })
            }).collect::<Vec<_>>(),
        });
        writeln!(
            self.out,
            "{}",
            serde_json::to_string_pretty(&document).expect("JSON values serialise")
        )
    }
}

/// (lessons passed, lessons) and (checks passed, checks).
fn totals(graded: &[Graded]) -> ((usize, usize), (usize, usize)) {
    let lessons = graded.iter().filter(|graded| graded.outcome.passed()).count();
    let checks = graded
        .iter()
        .map(Graded::counts)
        .fold((0, 0), |sum, (passed, total)| (sum.0 + passed, sum.1 + total));
    ((lessons, graded.len()), checks)
}

impl Reporter {
    /// The class: a row per student, a column per lesson (✓ passed, or checks passed/checks).
    pub fn grade_table(
        &mut self,
        students: &[crate::grade::Student],
        course_hash: Option<&str>,
    ) -> io::Result<()> {
        let lessons = lesson_numbers(students);
        let width =
            students.iter().map(|student| student.name.chars().count()).max().unwrap_or(7).max(7);
        let header: String =
            lessons.iter().map(|number| format!("{:>6}", format!("L{number}"))).collect();
        writeln!(self.out, "{}", format!("{:<width$}{header}  passed  course", "student").bold())?;
        for student in students {
            if let Some(why) = &student.unreadable {
                writeln!(
                    self.out,
                    "{:<width$}  {}",
                    student.name,
                    format!("unreadable: {why}").red()
                )?;
                continue;
            }
            let cells: String = lessons
                .iter()
                .map(|number| match (student.passed(*number), student.lessons.get(number)) {
                    (Some(true), _) => format!("{:>6}", "✓").green().to_string(),
                    (Some(false), Some((passed, total))) => {
                        format!("{:>6}", format!("{passed}/{total}")).red().to_string()
                    }
                    _ => format!("{:>6}", "–").dimmed().to_string(),
                })
                .collect();
            let passed =
                lessons.iter().filter(|number| student.passed(**number) == Some(true)).count();
            let course = match course_hash {
                Some(hash) if hash != student.course_hash => "differs".red().bold(),
                _ => "same".normal(),
            };
            writeln!(
                self.out,
                "{:<width$}{cells}  {:>6}  {course}",
                student.name,
                format!("{passed}/{}", lessons.len())
            )?;
        }
        if let Some(hash) = course_hash {
            writeln!(
                self.out,
                "\n{}",
                format!("course fingerprint compared with {hash}").dimmed()
            )?;
        }
        Ok(())
    }

    /// The same, as CSV: `student,lesson 1,…,lessons passed,course` with checks passed/checks.
    pub fn grade_csv(
        &mut self,
        students: &[crate::grade::Student],
        course_hash: Option<&str>,
    ) -> io::Result<()> {
        let lessons = lesson_numbers(students);
        let header: Vec<String> = lessons.iter().map(|number| format!("lesson {number}")).collect();
        writeln!(self.out, "student,{},lessons passed,course", header.join(","))?;
        for student in students {
            let cells: Vec<String> = lessons
                .iter()
                .map(|number| {
                    student
                        .lessons
                        .get(number)
                        .map_or_else(String::new, |(passed, total)| format!("{passed}/{total}"))
                })
                .collect();
            let passed =
                lessons.iter().filter(|number| student.passed(**number) == Some(true)).count();
            let course = match (&student.unreadable, course_hash) {
                (Some(_), _) => "unreadable",
                (None, Some(hash)) if hash != student.course_hash => "differs",
                (None, _) => "same",
            };
            writeln!(
                self.out,
                "{},{},{passed},{course}",
                csv_field(&student.name),
                cells.join(",")
            )?;
        }
        Ok(())
    }
}

fn lesson_numbers(students: &[crate::grade::Student]) -> Vec<u64> {
    let mut numbers: Vec<u64> =
        students.iter().flat_map(|student| student.lessons.keys().copied()).collect();
    numbers.sort_unstable();
    numbers.dedup();
    numbers
}

/// A CSV field, quoted when it must be.
fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}
