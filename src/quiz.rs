//! `quiz N`: the lesson's closing question, asked interactively; without a terminal it is
//! printed with its options, for reading.

use std::process::ExitCode;

use crate::catalog::Lesson;
use crate::progress::Progress;
use crate::project;
use crate::reporter::Reporter;

pub fn run(lesson: &Lesson, reporter: &mut Reporter) -> anyhow::Result<ExitCode> {
    let root = project::root()?;
    let Some(choice) = reporter.ask_quiz(lesson)? else {
        return Ok(ExitCode::SUCCESS);
    };
    let right = choice == lesson.quiz.answer;
    reporter.quiz_answer(&lesson.quiz, right)?;
    let (mut progress, _) = Progress::load(&root);
    progress.record_quiz(lesson, right);
    progress.save()?;
    Ok(ExitCode::SUCCESS)
}
