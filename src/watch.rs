//! Watch mode (`cargo run` alone): the current exercise is checked whenever it is saved, and
//! single keys move between lessons, show hints, reset, or open an editor.
//!
//! Watch mode keeps no progress of its own: it reads `.httplings/progress.json` afresh for every
//! screen and changes it only through [`Progress::update`], so a `check` run in another terminal
//! is neither overwritten nor missed.

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
use crate::check::{self, Options};
use crate::hint;
use crate::outcome::{self, first_failed};
use crate::progress::{Progress, Status};
use crate::project;
use crate::reporter::{Reporter, Screen};
use crate::reset;

/// Saves come in bursts (write, rename, touch): wait for this much quiet before checking.
const SETTLE: Duration = Duration::from_millis(150);

pub fn run(
    edit_cmd: Option<String>,
    from: Option<&'static Lesson>,
    reporter: &mut Reporter,
) -> anyhow::Result<ExitCode> {
    if !io::stdin().is_terminal() || !io::stdout().is_terminal() {
        return Err(UsageError(
            "watch mode needs a terminal; without one, use `cargo run -- check N`".into(),
        )
        .into());
    }
    let root = project::root()?;
    let (progress, notice) = Progress::update(&root, |progress| {
        if let Some(lesson) = from {
            progress.set_current(lesson);
        }
    })?;
    let (events, watcher) = watch_files(&root);
    let mut session = Session {
        lesson: progress.current(),
        root,
        report: String::new(),
        panel: None,
        choosing: None,
        message: notice,
        confirming: None,
        checked: None,
        edit_cmd: edit_cmd
            .or_else(|| std::env::var("VISUAL").ok())
            .or_else(|| std::env::var("EDITOR").ok()),
    };
    if let Err(reason) = &watcher {
        session.message =
            Some(format!("file events are unavailable ({reason}): press r to re-check"));
    }
    let raw = RawMode::enter()?;
    session.check(reporter)?;
    let mut saved_at: Option<Instant> = None;
    loop {
        if event::poll(Duration::from_millis(50)).context("could not read the keyboard")?
            && let Event::Key(key) = event::read().context("could not read the keyboard")?
            && key.kind == KeyEventKind::Press
            && let Flow::Quit = session.key(key, reporter)?
        {
            break;
        }
        let touched: Vec<PathBuf> = events.try_iter().collect();
        if touched.iter().any(|path| path.file_name() == session.exercise_path().file_name()) {
            saved_at = Some(Instant::now());
        }
        if touched.iter().any(|path| path.file_name().is_some_and(|name| name == "progress.json")) {
            // Another httplings recorded something: show it.
            session.show(reporter)?;
        }
        if saved_at.is_some_and(|at| at.elapsed() >= SETTLE) {
            saved_at = None;
            if session.changed_since_checked() {
                session.check(reporter)?;
                // What was saved while the check ran is judged by content, not by its events:
                // one may come late, and a save after the build read the file needs a check.
                events.try_iter().for_each(drop);
                if session.changed_since_checked() {
                    saved_at = Some(Instant::now());
                }
            } else {
                session.unchanged_save(reporter)?;
            }
        }
    }
    drop(raw);
    reporter.watch_ended()?;
    Ok(ExitCode::SUCCESS)
}

enum Flow {
    Continue,
    Quit,
}

struct Session {
    root: PathBuf,
    lesson: &'static Lesson,
    /// The last check's report, as the reporter rendered it.
    report: String,
    /// A hint, shown under the report.
    panel: Option<String>,
    /// The lesson list is open, with this line selected.
    choosing: Option<usize>,
    message: Option<String>,
    /// A key asked for confirmation: the next key says yes or no.
    confirming: Option<Confirm>,
    /// The exercise's content when its last check began.
    checked: Option<Vec<u8>>,
    edit_cmd: Option<String>,
}

/// What a key asked to be confirmed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Confirm {
    /// `x`: the starter back in place of the exercise.
    Reset,
    /// `n` on a lesson that does not pass yet.
    Skip,
}

impl Session {
    fn exercise_path(&self) -> PathBuf {
        self.root.join(self.lesson.file(Side::Exercise))
    }

    /// Whether the exercise now says something else than what was last checked.
    fn changed_since_checked(&self) -> bool {
        std::fs::read(self.exercise_path()).ok() != self.checked
    }

    /// A save that changed nothing (an editor saving on focus loss, a late file event) leaves
    /// the screen as it is; where nothing else is said, it says how to check again.
    fn unchanged_save(&mut self, reporter: &mut Reporter) -> anyhow::Result<()> {
        if self.message.is_some() || self.confirming.is_some() || self.choosing.is_some() {
            return Ok(());
        }
        self.message = Some("saved without changes: press r to check it again".into());
        self.show(reporter)
    }

    fn progress(&self) -> Progress {
        Progress::load(&self.root).0
    }

    fn key(&mut self, key: KeyEvent, reporter: &mut Reporter) -> anyhow::Result<Flow> {
        if key.code == KeyCode::Char('c') && key.modifiers.contains(KeyModifiers::CONTROL) {
            return Ok(Flow::Quit);
        }
        match self.confirming.take() {
            Some(Confirm::Reset) => {
                self.message = Some(match key.code {
                    KeyCode::Char('y') => match reset::reset(&self.root, self.lesson)? {
                        Some(backup) => format!(
                            "reset to the starter; your file is saved as {}",
                            backup.display()
                        ),
                        None => "the exercise is already the starter".into(),
                    },
                    _ => "reset cancelled".into(),
                });
                self.show(reporter)?;
                return Ok(Flow::Continue);
            }
            Some(Confirm::Skip) if key.code == KeyCode::Char('n') => {
                self.message = None;
                return self.step(1, reporter).map(|()| Flow::Continue);
            }
            Some(Confirm::Skip) | None => {}
        }
        if let Some(selected) = self.choosing {
            return self.choose(key, selected, reporter).map(|()| Flow::Continue);
        }
        self.message = None;
        match key.code {
            KeyCode::Char('q') | KeyCode::Esc => return Ok(Flow::Quit),
            KeyCode::Char('n') => return self.move_by(1, reporter).map(|()| Flow::Continue),
            KeyCode::Char('p') => return self.move_by(-1, reporter).map(|()| Flow::Continue),
            KeyCode::Char('r') => return self.check(reporter).map(|()| Flow::Continue),
            KeyCode::Char('h') => {
                let mut picked = (0, false);
                Progress::update(&self.root, |progress| {
                    picked = hint::next(self.lesson, progress);
                    progress.record_hint(self.lesson, picked.0);
                })?;
                let (index, more) = picked;
                self.panel =
                    Some(reporter.render_hint(self.lesson, &self.lesson.hints[index], index, more));
            }
            KeyCode::Char('l') => self.choosing = Some(usize::from(self.lesson.number - 1)),
            KeyCode::Char('x') => {
                self.confirming = Some(Confirm::Reset);
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

    /// A key while the lesson list is open: move, pick by number, open, or close it.
    fn choose(
        &mut self,
        key: KeyEvent,
        selected: usize,
        reporter: &mut Reporter,
    ) -> anyhow::Result<()> {
        let last = LESSONS.len() - 1;
        match key.code {
            KeyCode::Up | KeyCode::Char('k') => self.choosing = Some(selected.saturating_sub(1)),
            KeyCode::Down | KeyCode::Char('j') => self.choosing = Some((selected + 1).min(last)),
            KeyCode::Char(digit @ '1'..='9') => {
                let index = usize::from(digit as u8 - b'1');
                self.choosing = Some(index.min(last));
            }
            KeyCode::Enter => {
                self.choosing = None;
                return self.open(&LESSONS[selected], reporter);
            }
            _ => self.choosing = None,
        }
        self.show(reporter)
    }

    /// `n` or `p`: the next or previous lesson; moving on from one that does not pass yet asks
    /// first.
    fn move_by(&mut self, step: isize, reporter: &mut Reporter) -> anyhow::Result<()> {
        if step > 0 && self.progress().status(self.lesson) != Status::Done {
            self.confirming = Some(Confirm::Skip);
            self.message = Some(format!(
                "lesson {} does not pass yet: press n again to move on anyway, any other key to stay",
                self.lesson.number
            ));
            return self.show(reporter);
        }
        self.step(step, reporter)
    }

    fn step(&mut self, step: isize, reporter: &mut Reporter) -> anyhow::Result<()> {
        let index = usize::from(self.lesson.number - 1).saturating_add_signed(step);
        match LESSONS.get(index) {
            Some(next) => self.open(next, reporter),
            None => {
                self.message = Some(if step > 0 {
                    "that was the last lesson: well done! The quizzes are `cargo run -- quiz N`"
                        .into()
                } else {
                    "this is the first lesson".into()
                });
                self.show(reporter)
            }
        }
    }

    fn open(&mut self, lesson: &'static Lesson, reporter: &mut Reporter) -> anyhow::Result<()> {
        self.lesson = lesson;
        Progress::update(&self.root, |progress| progress.set_current(lesson))?;
        self.panel = None;
        self.check(reporter)
    }

    fn check(&mut self, reporter: &mut Reporter) -> anyhow::Result<()> {
        self.panel = None;
        self.message = None;
        self.checked = std::fs::read(self.exercise_path()).ok();
        let file = self.lesson.file(Side::Exercise);
        self.report = format!("Checking {file}…");
        self.show(reporter)?;
        let options = Options { colored: reporter.colored(), ..Options::default() };
        let (total, mut decided) = (self.lesson.judge.checks.len(), 0);
        let (root, lesson) = (self.root.clone(), self.lesson);
        let outcome = {
            let mut on_event = |event: outcome::Event<'_>| {
                let seconds = match event {
                    outcome::Event::Decided(_) => {
                        decided += 1;
                        None
                    }
                    outcome::Event::Building(elapsed) if elapsed.as_secs() > 0 => {
                        self.report = format!("Compiling {file}… {} s", elapsed.as_secs());
                        let _ = self.show(reporter);
                        return;
                    }
                    outcome::Event::Building(_) => return,
                    outcome::Event::Waiting(elapsed) => Some(elapsed.as_secs()),
                    _ => None,
                };
                self.report = match seconds {
                    Some(seconds) if seconds > 0 => {
                        format!("Checking {file}… {seconds} s, {decided} of {total} checks decided")
                    }
                    _ => format!("Checking {file}… {decided} of {total} checks decided"),
                };
                let _ = self.show(reporter);
            };
            check::perform(&root, lesson, Side::Exercise, &options, &mut on_event)?
        };
        self.report = reporter.render_outcome(self.lesson, Side::Exercise, &outcome);
        let first_failed = first_failed(&outcome);
        let (progress, _) = Progress::update(&self.root, |progress| {
            progress.record_check(self.lesson, first_failed.as_deref())
        })?;
        if outcome.passed() && progress.done_count() == LESSONS.len() {
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
        let Some(program) = words.next() else { return Ok(()) };
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
        let progress = self.progress();
        let chooser = self.choosing.map(|selected| reporter.lesson_chooser(&progress, selected));
        let screen = Screen {
            lesson: self.lesson,
            exercise: &self.exercise_path(),
            progress: &progress,
            report: &self.report,
            panel: chooser.as_deref().or(self.panel.as_deref()),
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

/// File events for `exercises/` and `.httplings/`, as the paths they touch; the error says
/// why there are none.
fn watch_files(root: &Path) -> (Receiver<PathBuf>, Result<notify::RecommendedWatcher, String>) {
    use notify::Watcher;
    let (sender, events) = mpsc::channel();
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
            watcher.watch(&root.join(".httplings"), notify::RecursiveMode::NonRecursive)?;
            Ok(watcher)
        })
        .map_err(|error| error.to_string());
    (events, watcher)
}
