//! Watch mode (`cargo run` alone): the current exercise is checked whenever it is saved, and
//! single keys move between lessons, show hints, reset, or open an editor.

use std::io::{self, IsTerminal};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

use anyhow::Context;
use crossterm::event::{self, Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use crossterm::terminal;

use crate::UsageError;
use crate::catalog::{LESSONS, Lesson, Side};
use crate::check;
use crate::progress::{Progress, Status};
use crate::project;
use crate::reporter::{Reporter, Screen};
use crate::reset;

/// Saves come in bursts (write, rename, touch): wait for this much quiet before checking.
const SETTLE: Duration = Duration::from_millis(150);

pub fn run(edit_cmd: Option<String>, reporter: &mut Reporter) -> anyhow::Result<ExitCode> {
    if !io::stdin().is_terminal() || !io::stdout().is_terminal() {
        return Err(UsageError(
            "watch mode needs a terminal; without one, use `cargo run -- check N`".into(),
        )
        .into());
    }
    let root = project::root()?;
    let (progress, notice) = Progress::load(&root);
    let (saves, watcher) = watch_exercises(&root);
    let mut session = Session {
        lesson: progress.current(),
        progress,
        root,
        report: String::new(),
        passed: false,
        panel: None,
        message: notice,
        confirming_reset: false,
        edit_cmd: edit_cmd
            .or_else(|| std::env::var("VISUAL").ok())
            .or_else(|| std::env::var("EDITOR").ok()),
    };
    if let Err(reason) = &watcher {
        session.message =
            Some(format!("file events are unavailable ({reason}): press r to re-check"));
    }
    let _raw = RawMode::enter()?;
    session.check(reporter)?;
    let mut saved_at: Option<Instant> = None;
    loop {
        if event::poll(Duration::from_millis(50)).context("could not read the keyboard")?
            && let Event::Key(key) = event::read().context("could not read the keyboard")?
            && key.kind == KeyEventKind::Press
        {
            match session.key(key, reporter)? {
                Flow::Continue => {}
                Flow::Quit => break,
            }
        }
        if saves.try_iter().any(|path| path.file_name() == session.exercise_path().file_name()) {
            saved_at = Some(Instant::now());
        }
        if saved_at.is_some_and(|at| at.elapsed() >= SETTLE) {
            session.check(reporter)?;
            // Saves made while the check ran are already part of what it checked.
            saves.try_iter().for_each(drop);
            saved_at = None;
        }
    }
    drop(_raw);
    session.progress.save()?;
    Ok(ExitCode::SUCCESS)
}

enum Flow {
    Continue,
    Quit,
}

struct Session {
    root: PathBuf,
    progress: Progress,
    lesson: &'static Lesson,
    /// The last check's report, as the reporter rendered it.
    report: String,
    passed: bool,
    /// A hint or the lesson list, shown under the report.
    panel: Option<String>,
    message: Option<String>,
    confirming_reset: bool,
    edit_cmd: Option<String>,
}

impl Session {
    fn exercise_path(&self) -> PathBuf {
        self.root.join(self.lesson.file(Side::Exercise))
    }

    fn key(&mut self, key: KeyEvent, reporter: &mut Reporter) -> anyhow::Result<Flow> {
        if std::mem::take(&mut self.confirming_reset) {
            self.message = Some(match key.code {
                KeyCode::Char('y') => match reset::reset(&self.root, self.lesson)? {
                    Some(backup) => {
                        format!("reset to the starter; your file is saved as {}", backup.display())
                    }
                    None => "the exercise is already the starter".into(),
                },
                _ => "reset cancelled".into(),
            });
            self.show(reporter)?;
            return Ok(Flow::Continue);
        }
        self.message = None;
        match key.code {
            KeyCode::Char('q') | KeyCode::Esc => return Ok(Flow::Quit),
            KeyCode::Char('c') if key.modifiers.contains(KeyModifiers::CONTROL) => {
                return Ok(Flow::Quit);
            }
            KeyCode::Char('n') => return self.move_by(1, reporter).map(|()| Flow::Continue),
            KeyCode::Char('p') => return self.move_by(-1, reporter).map(|()| Flow::Continue),
            KeyCode::Char('r') => return self.check(reporter).map(|()| Flow::Continue),
            KeyCode::Char('h') => {
                let shown = self.progress.next_hint(self.lesson);
                let index = shown.min(self.lesson.hints.len() - 1);
                let hint = format!(
                    "Hint {}/{}: {}",
                    index + 1,
                    self.lesson.hints.len(),
                    self.lesson.hints[index]
                );
                self.panel = Some(reporter.wrapped(&hint));
                self.progress.save()?;
            }
            KeyCode::Char('l') => self.panel = Some(reporter.lesson_list(LESSONS, &self.progress)),
            KeyCode::Char('x') => {
                self.confirming_reset = true;
                self.message = Some(format!(
                    "Reset {} to the starter (your file is kept as a backup)? y to confirm, any other key to cancel",
                    self.lesson.file(Side::Exercise)
                ));
            }
            KeyCode::Char('e') => self.edit()?,
            _ => {}
        }
        self.show(reporter)?;
        Ok(Flow::Continue)
    }

    fn move_by(&mut self, step: isize, reporter: &mut Reporter) -> anyhow::Result<()> {
        if step > 0 && !self.passed {
            self.message = Some(format!(
                "lesson {} does not pass yet: n moves on once it does",
                self.lesson.number
            ));
            return self.show(reporter);
        }
        let index = usize::from(self.lesson.number - 1).saturating_add_signed(step);
        let Some(next) = LESSONS.get(index) else {
            self.message = Some(match step > 0 {
                true => {
                    "that was the last lesson: well done! The quizzes are `cargo run -- quiz N`"
                        .into()
                }
                false => "this is the first lesson".into(),
            });
            return self.show(reporter);
        };
        self.lesson = next;
        self.progress.set_current(next);
        self.progress.save()?;
        self.panel = None;
        self.check(reporter)
    }

    fn check(&mut self, reporter: &mut Reporter) -> anyhow::Result<()> {
        self.report = format!("Checking {}…", self.lesson.file(Side::Exercise));
        self.show(reporter)?;
        let outcome = check::perform(&self.root, self.lesson, Side::Exercise, reporter.colored())?;
        self.passed = outcome.passed();
        self.report = reporter.render_outcome(self.lesson, Side::Exercise, &outcome);
        self.progress.record_check(self.lesson, self.passed);
        self.progress.save()?;
        if self.passed && self.progress.done_count() == LESSONS.len() {
            self.message =
                Some("every exercise passes: the quizzes are `cargo run -- quiz N`".into());
        }
        self.show(reporter)
    }

    fn edit(&mut self) -> anyhow::Result<()> {
        let Some(command) = self.edit_cmd.clone() else {
            self.message = Some(
                "no editor known: set $EDITOR, or start with `cargo run -- watch --edit-cmd CMD`"
                    .into(),
            );
            return Ok(());
        };
        let mut words = command.split_whitespace();
        let Some(program) = words.next() else {
            return Ok(());
        };
        terminal::disable_raw_mode().context("could not leave raw mode")?;
        let status =
            std::process::Command::new(program).args(words).arg(self.exercise_path()).status();
        terminal::enable_raw_mode().context("could not enter raw mode")?;
        if let Err(error) = status {
            self.message = Some(format!("could not run {program}: {error}"));
        }
        Ok(())
    }

    fn show(&mut self, reporter: &mut Reporter) -> anyhow::Result<()> {
        let screen = Screen {
            lesson: self.lesson,
            exercise: &self.exercise_path(),
            done: self.progress.done_count(),
            total: LESSONS.len(),
            status: if self.passed { Status::Done } else { self.progress.status(self.lesson) },
            report: &self.report,
            panel: self.panel.as_deref(),
            message: self.message.as_deref(),
        };
        reporter.watch_screen(&screen)?;
        Ok(())
    }
}

/// Raw mode for single-key commands, left again however the session ends.
struct RawMode;

impl RawMode {
    fn enter() -> anyhow::Result<Self> {
        terminal::enable_raw_mode().context("could not put the terminal in raw mode")?;
        Ok(RawMode)
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        let _ = terminal::disable_raw_mode();
    }
}

/// File events for `exercises/`, as the paths they touch; the error says why there are none.
fn watch_exercises(root: &Path) -> (Receiver<PathBuf>, Result<notify::RecommendedWatcher, String>) {
    use notify::Watcher;
    let (sender, saves) = mpsc::channel();
    let handler = move |event: notify::Result<notify::Event>| {
        if let Ok(event) = event
            && (event.kind.is_modify() || event.kind.is_create())
        {
            for path in event.paths {
                let _ = sender.send(path);
            }
        }
    };
    let watcher = notify::recommended_watcher(handler)
        .and_then(|mut watcher| {
            watcher.watch(&root.join("exercises"), notify::RecursiveMode::NonRecursive)?;
            Ok(watcher)
        })
        .map_err(|error| error.to_string());
    (saves, watcher)
}
