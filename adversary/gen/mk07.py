import pathlib, sys
d = pathlib.Path('/work/wt/adv78/adversary/07')
base = (d/'right_timeout_at.rs').read_text()
head_end = base.index('\n\n')  # drop the first //! line, put our own
body = base.split('\n', 2)[2]  # skip the 2 doc lines
def mk(name, doc, *subs):
    text = body
    for old, new in subs:
        if text.count(old) != 1:
            sys.exit(f'{name}: {old!r} found {text.count(old)} times')
        text = text.replace(old, new)
    (d/f'{name}.rs').write_text(f'//! WRONG: {doc}\n' + text)

ATTEMPT = 'match tokio::time::timeout_at(deadline.into(), client.get(url).send()).await {'
TOP = '''        if Instant::now() >= deadline {
            return match held {'''
WAKECHK = '''        if wake >= deadline {
            return outcome.map_err(GaveUp::Transport);
        }'''
mk('wrong_01_past_sends_first', 'the deadline is only looked at after a wait: a deadline already passed still sends the first attempt',
   (TOP, '        if attempt > 1 && Instant::now() >= deadline {\n            return match held {'))
mk('wrong_02_attempt_unbounded', 'attempts are not bounded by the deadline (the client\'s own long timeout applies)',
   (ATTEMPT, 'match Ok::<_, ()>(client.get(url).send().await) {'))
mk('wrong_03_sleep_then_check', 'the wait is always started; the deadline is looked at only when it ends',
   (WAKECHK, ''))
mk('wrong_04_sleep_to_deadline', 'a wait that would end after the deadline sleeps until the deadline, then returns the response',
   (WAKECHK, '''        if wake >= deadline {
            tokio::time::sleep_until(deadline.into()).await;
            return outcome.map_err(GaveUp::Transport);
        }'''))
mk('wrong_05_deadline_not_response', 'giving up before a wait returns DeadlineExceeded instead of the response in hand',
   (WAKECHK, '''        if wake >= deadline {
            return match outcome {
                Ok(_) => Err(GaveUp::DeadlineExceeded),
                Err(error) => Err(GaveUp::Transport(error)),
            };
        }'''))
mk('wrong_06_grace_50ms', 'a wait may end up to 50 ms after the deadline ("close enough"), and the attempt after it is sent anyway',
   (WAKECHK, '''        if wake >= deadline + Duration::from_millis(50) {
            return outcome.map_err(GaveUp::Transport);
        }'''),
   (TOP, '        if Instant::now() >= deadline && attempt == 1 {\n            return match held {'))
mk('wrong_07_retries_4xx', 'a 4xx is retried like a 5xx while time allows',
   ('Ok(response) => response.status().is_server_error(),', 'Ok(response) => !response.status().is_success(),'))
mk('wrong_08_ignores_retry_after', 'Retry-After is ignored: backoff always',
   ('let wait = match outcome.as_ref().ok().and_then(retry_after) {', 'let wait = match None::<Duration> {'))
mk('wrong_09_caps_retry_after', 'a Retry-After above max_delay is capped and waited for instead of returning at once',
   ('Some(asked) if asked > policy.max_delay => return outcome.map_err(GaveUp::Transport),', 'Some(asked) if asked > policy.max_delay => policy.max_delay,'))
mk('wrong_10_one_attempt_too_many', 'off by one: max_attempts + 1 attempts',
   ('if attempt >= policy.max_attempts || !worth_retrying(&outcome) {', 'if attempt > policy.max_attempts || !worth_retrying(&outcome) {'))
mk('wrong_11_transport_as_deadline', 'giving up before a wait after a transport failure returns DeadlineExceeded instead of the error',
   (WAKECHK, '''        if wake >= deadline {
            return match outcome {
                Ok(response) => Ok(response),
                Err(_) => Err(GaveUp::DeadlineExceeded),
            };
        }'''))
mk('wrong_12_no_jitter', 'the backoff wait is always the whole d, no jitter',
   ('None => full_jitter(backoff(&policy, attempt)),', 'None => backoff(&policy, attempt),'))
mk('wrong_13_stale_clock', 'the wait is compared with the deadline from the instant the attempt started, not now',
   ('        drop(held.take());\n', '        drop(held.take());\n        let attempt_started = Instant::now();\n'),
   ('let wake = Instant::now() + wait;', 'let wake = attempt_started + wait;'),
   ('tokio::time::sleep_until(wake.into()).await;', 'tokio::time::sleep(wait).await;'))
mk('wrong_14_full_budget_each_attempt', 'each attempt gets the whole budget measured at the start of the call, not what is left',
   ('    let mut attempt = 1;\n    loop {', '    let mut attempt = 1;\n    let budget = deadline.saturating_duration_since(Instant::now());\n    loop {'),
   (ATTEMPT, 'match tokio::time::timeout(budget, client.get(url).send()).await {'))
mk('wrong_15_spawned_attempt', 'each attempt runs on a spawned task, which the deadline abandons but does not stop',
   (ATTEMPT, 'match tokio::time::timeout_at(deadline.into(), tokio::spawn(client.get(url).send())).await {'),
   ('                Ok(outcome) => outcome,\n', '                Ok(joined) => joined.expect("the attempt does not panic"),\n'))
mk('wrong_16_global_attempt_counter', 'the attempt count is a static shared by every call in the process',
   ('    let mut attempt = 1;\n    loop {', '''    static ATTEMPT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(1);
    use std::sync::atomic::Ordering::SeqCst;
    ATTEMPT.store(1, SeqCst);
    loop {
        let attempt = ATTEMPT.load(SeqCst);'''),
   ('        attempt += 1;\n', '        ATTEMPT.fetch_add(1, SeqCst);\n'))

# Gateway
SEND = '.header("grpc-timeout", format!("{}m", left.as_millis()));'
mk('wrong_g01_forwards_as_received', 'the gateway passes the caller\'s grpc-timeout on unchanged (its own timeout when none came)',
   (SEND, '.header("grpc-timeout", headers.get("grpc-timeout").cloned().unwrap_or_else(|| format!("{}m", left.as_millis()).parse().unwrap()));'))
mk('wrong_g02_nothing_sent_when_absent', 'without a budget from the caller, the gateway tells its upstream nothing',
   ('let request = gateway.client.get(url).header("grpc-timeout", format!("{}m", left.as_millis()));',
    '''let mut request = gateway.client.get(url);
    if headers.contains_key("grpc-timeout") {
        request = request.header("grpc-timeout", format!("{}m", left.as_millis()));
    }'''))
mk('wrong_g03_rounded_up', 'the budget left is passed on rounded up to the millisecond',
   (SEND, '.header("grpc-timeout", format!("{}m", left.as_micros().div_ceil(1000)));'))
mk('wrong_g04_unit_case_folded', 'the unit is read case-insensitively: M (minutes) is taken for milliseconds',
   ('    Some(match unit {', '    Some(match unit.to_ascii_lowercase() {'),
   ("        b'H' => Duration::from_secs(value * 3600),\n        b'M' => Duration::from_secs(value * 60),\n        b'S' => Duration::from_secs(value),\n",
    "        b'h' => Duration::from_secs(value * 3600),\n        b's' => Duration::from_secs(value),\n"))
mk('wrong_g05_nanos_as_micros', 'n (nanoseconds) is read as microseconds',
   ("b'n' => Duration::from_nanos(value),", "b'n' => Duration::from_micros(value),"))
mk('wrong_g06_no_digit_limit', 'any number of digits is accepted (nine digits is malformed)',
   ('digits.len() > 8 ||', 'digits.len() > 20 ||'))
mk('wrong_g07_malformed_is_zero', 'a malformed grpc-timeout is read as zero: 504 at once',
   ('''    let allowed = match budget(&headers) {''', '''    let allowed = match (headers.contains_key("grpc-timeout"), budget(&headers)) {
        (true, None) => Duration::ZERO,
        (_, Some(budget)) => budget.min(gateway.upstream.timeout()),
        (false, None) => gateway.upstream.timeout(),
    };
    let _ = match budget(&headers) {'''))
mk('wrong_g08_no_floor', 'only a budget of exactly zero is spent: 300 µs still gets a call',
   ('if left < FLOOR {', 'if left.is_zero() {'))
mk('wrong_g09_budget_beats_own_timeout', 'a received budget replaces the gateway\'s own timeout instead of the smaller of the two',
   ('Some(budget) => budget.min(gateway.upstream.timeout()),', 'Some(budget) => budget,'))
mk('wrong_g10_spawned_call', 'the upstream exchange runs on a spawned task: a caller who hangs up does not stop it',
   ('    let exchange = async {', '    let exchange = async move {'),
   ('match tokio::time::timeout(left, exchange).await {', '''let task = tokio::spawn(exchange);
    let joined = tokio::time::timeout(left, task).await.map(|joined| joined.expect("no panic"));
    match joined {'''))
mk('wrong_g11_spent_is_503', 'a spent budget is answered 503 instead of 504',
   ('''    if left < FLOOR {
        return timed_out();''', '''    if left < FLOOR {
        return error(StatusCode::SERVICE_UNAVAILABLE, "UNAVAILABLE", "No time left");'''))
mk('wrong_g12_budget_not_enforced', 'the budget is passed on but the call itself runs to the gateway\'s own timeout',
   ('match tokio::time::timeout(left, exchange).await {', 'match tokio::time::timeout(gateway.upstream.timeout().saturating_sub(started.elapsed()), exchange).await {'))
mk('wrong_g13_decimal_accepted', 'a decimal value (1.5S, 0.2S) is accepted',
   ("    if digits.is_empty() || digits.len() > 8 || !digits.iter().all(u8::is_ascii_digit) {\n        return None;\n    }\n    let value: u64 = std::str::from_utf8(digits).ok()?.parse().ok()?;",
    "    if digits.is_empty() || digits.len() > 8 {\n        return None;\n    }\n    let exact: f64 = std::str::from_utf8(digits).ok()?.parse().ok()?;\n    if exact.fract() != 0.0 {\n        let per_unit = match unit { b'H' => 3600.0, b'M' => 60.0, b'S' => 1.0, b'm' => 1e-3, b'u' => 1e-6, b'n' => 1e-9, _ => return None };\n        return Some(Duration::from_secs_f64(exact * per_unit));\n    }\n    let value = exact as u64;"))
mk('wrong_g14_passes_whole_seconds', 'the budget left is passed on in whole seconds, rounded down (400 ms left becomes 0S)',
   (SEND, '.header("grpc-timeout", format!("{}S", left.as_secs()));'))
mk('wrong_g15_only_m_and_S', 'only m and S are understood; every other unit is taken as no budget',
   ("        b'H' => Duration::from_secs(value * 3600),\n        b'M' => Duration::from_secs(value * 60),\n", ""),
   ("        b'u' => Duration::from_micros(value),\n        b'n' => Duration::from_nanos(value),\n", ""))
mk('wrong_g16_micros_labelled_millis', 'the budget left is passed on in microseconds but labelled m',
   (SEND, '.header("grpc-timeout", format!("{}m", left.as_micros().min(99_999_999)));'))

def mkr(name, doc, *subs):
    text = body
    for old, new in subs:
        if text.count(old) != 1:
            sys.exit(f'{name}: {old!r} found {text.count(old)} times')
        text = text.replace(old, new)
    (d/f'{name}.rs').write_text(f'//! RIGHT: {doc}\n' + text)
mkr('right_request_timeout_transport', 'each attempt gets RequestBuilder::timeout(left); an attempt cut by the deadline comes back as Transport(timed out), the error reqwest gave',
   ('''        let outcome =
            match tokio::time::timeout_at(deadline.into(), client.get(url).send()).await {
                Ok(outcome) => outcome,
                Err(_elapsed) => return Err(GaveUp::DeadlineExceeded),
            };''', '''        let left = deadline.saturating_duration_since(Instant::now());
        let outcome = client.get(url).timeout(left).send().await;
        if outcome.as_ref().is_err_and(reqwest::Error::is_timeout) {
            return outcome.map_err(GaveUp::Transport);
        }'''))
mkr('right_malformed_400_finest_unit', 'a malformed budget is a 400; the budget left goes on in the finest unit that fits eight digits',
   ('''    let allowed = match budget(&headers) {
        Some(budget) => budget.min(gateway.upstream.timeout()),
        None => gateway.upstream.timeout(),
    };''', '''    let allowed = match (headers.contains_key("grpc-timeout"), budget(&headers)) {
        (_, Some(budget)) => budget.min(gateway.upstream.timeout()),
        (false, None) => gateway.upstream.timeout(),
        (true, None) => {
            return error(StatusCode::BAD_REQUEST, "BAD_REQUEST", "grpc-timeout is malformed");
        }
    };'''),
   (SEND, '.header("grpc-timeout", finest(left));'),
   ('fn timed_out() -> Response {', '''fn finest(left: Duration) -> String {
    for (value, unit) in [(left.as_nanos(), 'n'), (left.as_micros(), 'u'), (left.as_millis(), 'm')] {
        if value <= 99_999_999 {
            return format!("{value}{unit}");
        }
    }
    format!("{}S", left.as_secs().min(99_999_999))
}

fn timed_out() -> Response {'''))

mk('wrong_17_backoff_doubled_from_the_start', 'backoff counts from 2^n instead of 2^(n-1): every wait up to twice d',
   ('let factor = 2u32.saturating_pow(retry - 1);', 'let factor = 2u32.saturating_pow(retry);'))
mk('wrong_18_retry_after_plus_jitter', 'a Retry-After gets backoff jitter added on top',
   ('            Some(asked) => asked,\n', '            Some(asked) => asked + full_jitter(backoff(&policy, attempt)),\n'))
mk('wrong_19_resets_not_retried', 'a transport failure (reset, refused) is never retried',
   ('Err(error) => error.is_connect() || error.is_timeout() || error.is_request(),', 'Err(_) => false,'))
mk('wrong_20_first_response_kept', 'the response of the first failed attempt is the one returned on giving up',
   ('        held = Some(outcome);\n', '        held = Some(match held {\n            Some(Ok(first)) => Ok(first),\n            _ => outcome,\n        });\n'),
   ('        drop(held.take());\n', ''),
   ('''        if wake >= deadline {
            return outcome.map_err(GaveUp::Transport);
        }''', '''        if wake >= deadline {
            return match held {
                Some(Ok(first)) => Ok(first),
                _ => outcome.map_err(GaveUp::Transport),
            };
        }'''))
