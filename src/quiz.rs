//! `quiz N`: the lesson's questions, one after another. Answers come from the terminal, each
//! question's options in a fresh order (so that a letter remembered is no answer), or, one
//! letter per line, piped into standard input, the options then in the lesson's own order (so
//! that a script's letters mean the same every time).

use std::io::IsTerminal;
use std::process::ExitCode;

use crate::catalog::Lesson;
use crate::progress::Progress;
use crate::project;
use crate::reporter::Reporter;

pub fn run(lesson: &Lesson, reporter: &mut Reporter) -> anyhow::Result<ExitCode> {
    let root = project::root()?;
    let mut rng = httplings_judge::judge::seed::rng(httplings_judge::judge::seed::fresh());
    let shuffled = std::io::stdin().is_terminal();
    let (mut right, mut answered) = (0, 0);
    for (number, question) in lesson.quiz.iter().enumerate() {
        let mut order: Vec<usize> = (0..question.options.len()).collect();
        if shuffled {
            rng.shuffle(&mut order);
        }
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
    // Like `check`: 0 when every question was answered right, 1 otherwise.
    Ok(if right == lesson.quiz.len() { ExitCode::SUCCESS } else { ExitCode::from(1) })
}
