//! `quiz N`: the lesson's questions, one after another, each with its options in a fresh order.
//! Answers come from the terminal or, one letter per line, from standard input.

use std::process::ExitCode;

use crate::catalog::Lesson;
use crate::progress::Progress;
use crate::project;
use crate::reporter::Reporter;

pub fn run(lesson: &Lesson, reporter: &mut Reporter) -> anyhow::Result<ExitCode> {
    let root = project::root()?;
    let mut rng = httplings::judge::seed::rng(httplings::judge::seed::fresh());
    let (mut right, mut answered) = (0, 0);
    for (number, question) in lesson.quiz.iter().enumerate() {
        let mut order: Vec<usize> = (0..question.options.len()).collect();
        rng.shuffle(&mut order);
        let Some(choice) = reporter.ask(question, &order, number + 1, lesson.quiz.len())? else {
            break;
        };
        let correct = choice == question.answer_index();
        reporter.answered(question, &order, correct)?;
        Progress::update(&root, |progress| {
            progress.record_answer(lesson, &question.question, correct)
        })?;
        answered += 1;
        right += usize::from(correct);
    }
    reporter.quiz_done(right, answered, lesson.quiz.len(), lesson.number)?;
    Ok(ExitCode::SUCCESS)
}
