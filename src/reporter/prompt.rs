//! Questions put to the learner: confirmations and the quiz. Without a terminal to answer
//! them, they say so and return `None`, so nothing is ever decided for the learner.

use std::io::{self, IsTerminal, Write};

use colored::Colorize;

use super::{Reporter, evidence};
use crate::catalog::{Lesson, Quiz};

impl Reporter {
    /// Asks a yes/no question; `None` when there is no terminal to answer it.
    pub fn confirm(&mut self, question: &str) -> io::Result<Option<bool>> {
        if !io::stdin().is_terminal() {
            return Ok(None);
        }
        write!(self.out, "{question} [y/N] ")?;
        self.out.flush()?;
        let answer = read_line()?;
        Ok(Some(answer.is_some_and(|answer| {
            answer.trim().eq_ignore_ascii_case("y") || answer.trim().eq_ignore_ascii_case("yes")
        })))
    }

    /// Shows the question and its options; reads an answer when there is a terminal.
    pub fn ask_quiz(&mut self, lesson: &Lesson) -> io::Result<Option<usize>> {
        let quiz = &lesson.quiz;
        for line in evidence::wrap(quiz.question, self.width) {
            writeln!(self.out, "{}", line.bold())?;
        }
        for (index, option) in quiz.options.iter().enumerate() {
            let lines = evidence::wrap(option, self.width - 5);
            for (number, line) in lines.iter().enumerate() {
                let label = if number == 0 {
                    format!("  {})", option_letter(index))
                } else {
                    "    ".into()
                };
                writeln!(self.out, "{label} {line}")?;
            }
        }
        if !io::stdin().is_terminal() {
            return writeln!(
                self.out,
                "{}",
                format!("(answer it in a terminal: cargo run -- quiz {})", lesson.number).dimmed()
            )
            .map(|()| None);
        }
        let last = option_letter(quiz.options.len() - 1);
        loop {
            write!(self.out, "Your answer (a–{last}): ")?;
            self.out.flush()?;
            let Some(answer) = read_line()? else {
                return Ok(None);
            };
            let answer = answer.trim().to_ascii_lowercase();
            match answer.chars().next().map(|letter| (letter as usize).wrapping_sub('a' as usize)) {
                Some(index) if answer.len() == 1 && index < quiz.options.len() => {
                    return Ok(Some(index));
                }
                _ => writeln!(self.out, "Type one letter, a to {last}.")?,
            }
        }
    }

    pub fn quiz_answer(&mut self, quiz: &Quiz, right: bool) -> io::Result<()> {
        if right {
            writeln!(self.out, "{}", "✓ Right.".green().bold())?;
        } else {
            let letter = option_letter(quiz.answer);
            writeln!(
                self.out,
                "{} The answer is {letter}) {}",
                "✗ Not quite.".red().bold(),
                quiz.options[quiz.answer]
            )?;
        }
        for line in evidence::wrap(quiz.explanation, self.width) {
            writeln!(self.out, "{line}")?;
        }
        Ok(())
    }
}

fn option_letter(index: usize) -> char {
    char::from(b'a' + u8::try_from(index).expect("a handful of options"))
}

/// One line from stdin; `None` at its end.
fn read_line() -> io::Result<Option<String>> {
    let mut line = String::new();
    Ok((io::stdin().read_line(&mut line)? > 0).then_some(line))
}
