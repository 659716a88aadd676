# Generates wrong_XX_*.rs from right_b_slots.rs: each one defect, applied by exact replacement.
import re, sys
base = open('right_b_slots.rs').read()
base = base.split('\n', 1)[1]  # drop the RIGHT doc line

V = []
def v(name, doc, *reps):
    V.append((name, doc, reps))

TAKE = "            if !self.ledger().take() {\n                return outcome;\n            }\n"
v('01_retries_deposit', 'every retry deposits too: retries fund more retries.',
  (TAKE, "            {\n                let mut ledger = self.ledger();\n                if !ledger.take() {\n                    return outcome;\n                }\n                ledger.deposit();\n            }\n"))
v('02_no_window', 'nothing ever expires: the ledger counts the client\'s whole life, no window.',
  ("        if cell.0 != now {\n            *cell = (now, 0, 0);\n        }\n", "        cell.0 = now;\n"),
  ("*slot != u64::MAX && slot + SLOTS as u64 > now", "*slot != u64::MAX && *slot <= now"))
v('03_floor_once', 'the floor is a one-off reserve: spent once, never given back by the window.',
  ("        if self.balance() >= 1000 {\n            self.spend();\n            true\n        } else {\n            false\n        }",
   "        if self.reserve >= 1000 {\n            self.reserve -= 1000;\n            return true;\n        }\n        if self.balance() - self.reserve >= 1000 {\n            self.spend();\n            true\n        } else {\n            false\n        }"))
v('04_no_floor', 'the floor (min_per_second) is ignored: the ratio alone.',
  ("reserve: (budget.min_per_second as f64 * budget.window.as_secs_f64() * 1000.0) as i64", "reserve: 0"))
v('05_floor_not_per_window', 'the floor is min_per_second for the whole window, not per second of it.',
  ("reserve: (budget.min_per_second as f64 * budget.window.as_secs_f64() * 1000.0) as i64", "reserve: budget.min_per_second as i64 * 1000"))
v('06_floor_times_ten', 'the floor assumes a 10 s window: min_per_second × 10, whatever the window.',
  ("reserve: (budget.min_per_second as f64 * budget.window.as_secs_f64() * 1000.0) as i64", "reserve: budget.min_per_second as i64 * 10 * 1000"))
v('07_off_by_one', 'allows a retry while the balance is not negative: one retry more than the budget, every window.',
  ("if self.balance() >= 1000 {", "if self.balance() >= 0 {"))
v('08_per_call', 'a fresh ledger for every call: the budget never sees the other calls.',
  ("        self.ledger().deposit();\n", "        *self.ledger() = Ledger::new(self.budget);\n        self.ledger().deposit();\n"))
v('09_static', 'one ledger in a static for the whole process, made by the first client.',
  ("    fn ledger(&self) -> std::sync::MutexGuard<'_, Ledger> {\n        self.ledger.lock()",
   "    fn ledger(&self) -> std::sync::MutexGuard<'_, Ledger> {\n        static SHARED: std::sync::OnceLock<Mutex<Ledger>> = std::sync::OnceLock::new();\n        SHARED.get_or_init(|| Mutex::new(Ledger::new(self.budget))).lock()"))
v('10_lock_across_send', 'an async lock held for the whole call: calls run one at a time.',
  ("    ledger: Mutex<Ledger>,\n}", "    ledger: Mutex<Ledger>,\n    turn: tokio::sync::Mutex<()>,\n}"),
  ("ledger: Mutex::new(Ledger::new(budget)) }", "ledger: Mutex::new(Ledger::new(budget)), turn: tokio::sync::Mutex::new(()) }"),
  ("        self.ledger().deposit();\n", "        let _turn = self.turn.lock().await;\n        self.ledger().deposit();\n"))
v('11_sleep_then_ask', 'sleeps the backoff first, and only then asks the budget.',
  (TAKE + "            drop(outcome);\n            tokio::time::sleep(wait).await;\n",
   "            tokio::time::sleep(wait).await;\n" + TAKE + "            drop(outcome);\n"))
v('12_withdraw_on_last_attempt', 'asks (and spends) the budget before checking max_attempts: the last attempt spends a retry that never happens.',
  ("            if !retryable || attempt >= self.policy.max_attempts {\n                return outcome;\n            }\n",
   "            if !retryable || (attempt >= self.policy.max_attempts && !self.ledger().take()) || attempt >= self.policy.max_attempts {\n                return outcome;\n            }\n"))
v('13_first_attempt_gated', 'when the budget is dry, the call fails fast without a first attempt (a breaker, not a budget).',
  ("        self.ledger().deposit();\n",
   "        if self.ledger().balance() < 1000 {\n            return self.client.get(\"http://127.0.0.1:0/\").send().await;\n        }\n        self.ledger().deposit();\n"))
v('14_retries_4xx', 'retries every non-success, 4xx included.',
  ("Ok(response) => response.status().is_server_error(),", "Ok(response) => !response.status().is_success(),"))
v('15_no_jitter', 'waits the full backoff every time: no jitter.',
  ("cap.min(self.policy.max_delay).mul_f64(fraction())", "cap.min(self.policy.max_delay)"),
  ("fn fraction() -> f64 {", "#[allow(dead_code)]\nfn fraction() -> f64 {"))
v('16_ignores_retry_after', 'never reads Retry-After: always the backoff.',
  ("let value = response.headers().get(\"Retry-After\")?", "let value = response.headers().get(\"x-never-sent\")?"))
v('17_long_retry_after_capped', 'a Retry-After above max_delay is waited as max_delay and retried, instead of returned.',
  ("Some(asked) if asked > self.policy.max_delay => return outcome,", "Some(asked) if asked > self.policy.max_delay => self.policy.max_delay,"))
v('18_extra_attempt', 'one attempt more than max_attempts.',
  ("attempt >= self.policy.max_attempts {\n                return outcome;", "attempt > self.policy.max_attempts {\n                return outcome;"))
v('19_window_rounded_up', 'the window rounded up to whole seconds (deposits and floor live longer).',
  ("    fn new(budget: RetryBudget) -> Self {\n", "    fn new(mut budget: RetryBudget) -> Self {\n        budget.window = Duration::from_secs(budget.window.as_secs_f64().ceil() as u64);\n"))
v('20_ratio_rounded_up', 'the ratio rounded up to a tenth (0.12 behaves as 0.2).',
  ("earned_per_call: (budget.ratio * 1000.0).round() as i64", "earned_per_call: (budget.ratio * 10.0).ceil() as i64 * 100"))
v('21_retry_after_free', 'a retry the server asked for with Retry-After skips the budget.',
  ("            if !self.ledger().take() {", "            if asked.is_none() && !self.ledger().take() {"))
v('22_errors_free', 'transport failures (reset, refused) are retried without asking the budget.',
  ("            if !self.ledger().take() {", "            if outcome.is_ok() && !self.ledger().take() {"))
v('23_retries_never_expire', 'retries count for ever, deposits expire: after a window the client stops retrying.',
  ("    reserve: i64,\n}", "    reserve: i64,\n    spent_ever: i64,\n}"),
  ("            reserve: (budget", "            spent_ever: 0,\n            reserve: (budget"),
  ("        self.cell().2 += 1000;", "        self.spent_ever += 1000;"),
  ("        let spent: i64 = self.live().map(|cell| cell.2).sum();", "        let spent = self.spent_ever;"))
v('24_deposits_never_expire', 'deposits count for ever (retries expire): healthy traffic banks retries for the next outage.',
  ("    reserve: i64,\n}", "    reserve: i64,\n    earned_ever: i64,\n}"),
  ("            reserve: (budget", "            earned_ever: 0,\n            reserve: (budget"),
  ("        self.cell().1 += earned;", "        self.earned_ever += earned;"),
  ("        let earned: i64 = self.live().map(|cell| cell.1).sum();", "        let earned = self.earned_ever;"))
v('25_floor_or_ratio', 'the floor applies instead of the ratio, not on top of it: max(floor, ratio × first attempts).',
  ("        self.reserve + earned - spent", "        self.reserve.max(earned) - spent"))
v('26_budget_per_url', 'one budget per URL: each path gets its own floor and ratio.',
  ("    ledger: Mutex<Ledger>,\n}", "    ledger: Mutex<std::collections::HashMap<String, Ledger>>,\n}"),
  ("ledger: Mutex::new(Ledger::new(budget)) }", "ledger: Mutex::new(std::collections::HashMap::new()) }"),
  ("    fn ledger(&self) -> std::sync::MutexGuard<'_, Ledger> {\n        self.ledger.lock().unwrap_or_else(|poisoned| poisoned.into_inner())\n    }",
   "    fn with<T>(&self, url: &str, f: impl FnOnce(&mut Ledger) -> T) -> T {\n        let mut all = self.ledger.lock().unwrap_or_else(|poisoned| poisoned.into_inner());\n        f(all.entry(url.to_owned()).or_insert_with(|| Ledger::new(self.budget)))\n    }"),
  ("        self.ledger().deposit();\n", "        self.with(url, Ledger::deposit);\n"),
  ("            if !self.ledger().take() {", "            if !self.with(url, Ledger::take) {"))
v('27_check_then_sleep_then_spend', 'checks the balance before the sleep, spends after it: concurrent calls all pass the check and overdraw.',
  (TAKE + "            drop(outcome);\n            tokio::time::sleep(wait).await;\n",
   "            if self.ledger().balance() < 1000 {\n                return outcome;\n            }\n            drop(outcome);\n            tokio::time::sleep(wait).await;\n            self.ledger().spend();\n"))
v('28_constant_seed_jitter', 'jitter from a generator seeded with a constant: every client and process waits the same sequence.',
  ("fn fraction() -> f64 {\n    (uuid::Uuid::new_v4().as_u128() >> 75) as f64 / (1u64 << 53) as f64\n}",
   "fn fraction() -> f64 {\n    use std::sync::atomic::{AtomicU64, Ordering};\n    static STATE: AtomicU64 = AtomicU64::new(0x9E37_79B9_7F4A_7C15);\n    let mut x = STATE.load(Ordering::Relaxed);\n    x ^= x << 13;\n    x ^= x >> 7;\n    x ^= x << 17;\n    STATE.store(x, Ordering::Relaxed);\n    (x >> 11) as f64 / (1u64 << 53) as f64\n}"))
v('29_jitter_20pct_long', 'jitter spread over 1.2 × the backoff: waits up to 20 % past the cap.',
  ("cap.min(self.policy.max_delay).mul_f64(fraction())", "cap.min(self.policy.max_delay).mul_f64(1.2 * fraction())"))
v('30_no_max_delay_cap', 'the backoff is never capped at max_delay.',
  ("cap.min(self.policy.max_delay).mul_f64(fraction())", "cap.mul_f64(fraction())"))
v('31_fixed_10s_window', 'deposits and retries expire after a fixed 10 s, not budget.window (the floor still uses it).',
  ("let slot_len = (budget.window / SLOTS as u32)", "let slot_len = (Duration::from_secs(10) / SLOTS as u32)"))
v('32_backoff_attempt_not_retry', 'the backoff exponent counts attempts, not retries: every wait doubled (base × 2^n).',
  ("let shift = (attempt - 1).min(31);", "let shift = attempt.min(31);"))

for name, doc, reps in V:
    text = base
    for old, new in reps:
        if text.count(old) != 1:
            sys.exit(f'{name}: {old!r} found {text.count(old)} times')
        text = text.replace(old, new)
    open(f'wrong_{name}.rs', 'w').write(f'//! WRONG: {doc}\n' + text)
print(len(V), 'written')
