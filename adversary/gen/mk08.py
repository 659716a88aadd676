import pathlib, sys
d = pathlib.Path('/work/wt/adv78/adversary/08')
base = (d/'right_tower_layers.rs').read_text()
body = base.split('\n', 2)[2]
def derive(text, name, subs):
    for old, new in subs:
        if text.count(old) != 1:
            sys.exit(f'{name}: {old!r} found {text.count(old)} times')
        text = text.replace(old, new)
    return text
def mk(name, doc, *subs, src=None):
    text = derive(body if src is None else src, name, subs)
    kind = 'RIGHT' if name.startswith('right') else 'WRONG'
    (d/f'{name}.rs').write_text(f'//! {kind}: {doc}\n' + text)

# A second base: a semaphore in the state, try_acquire in the handler after the quota.
SHED = '''    let shed = ServiceBuilder::new()
        .layer(HandleErrorLayer::new(|_: tower::BoxError| async { overloaded() }))
        .load_shed()
        .concurrency_limit(limits.max_in_flight);
'''
sem = derive(body, 'sem', [
    (SHED, '    let slots = Arc::new(tokio::sync::Semaphore::new(limits.max_in_flight));\n'),
    ('        .route_layer(shed)\n', ''),
    ('.with_state(Service { backend, client, quotas })', '.with_state(Service { backend, client, quotas, slots })'),
    ('    quotas: Arc<Quotas>,\n}', '    quotas: Arc<Quotas>,\n    slots: Arc<tokio::sync::Semaphore>,\n}'),
    ('    let url = service.backend.url(&format!("/reports/{id}"));',
     '    let Ok(_slot) = service.slots.try_acquire() else {\n        return overloaded();\n    };\n    let url = service.backend.url(&format!("/reports/{id}"));'),
    ('use axum::error_handling::HandleErrorLayer;\n', ''),
    ('use tower::ServiceBuilder;\n', ''),
])
mk('right_semaphore', 'a semaphore in the state, try_acquire after the quota (the textbook shape)', src=sem)
SLOT = '    let Ok(_slot) = service.slots.try_acquire() else {\n        return overloaded();\n    };\n'

mk('wrong_01_limit_plus_one', 'the concurrency limit is max_in_flight + 1',
   ('.concurrency_limit(limits.max_in_flight);', '.concurrency_limit(limits.max_in_flight + 1);'))
mk('wrong_02_limit_minus_one', 'the concurrency limit is max_in_flight - 1 (at least 1)',
   ('.concurrency_limit(limits.max_in_flight);', '.concurrency_limit(limits.max_in_flight.saturating_sub(1).max(1));'))
mk('wrong_03_queue', 'a concurrency limit with no load shedding: the excess waits in line',
   (SHED, '    let shed = tower::limit::ConcurrencyLimitLayer::new(limits.max_in_flight);\n'),
   ('use axum::error_handling::HandleErrorLayer;\n', ''),
   ('use tower::ServiceBuilder;\n', ''))
mk('wrong_04_short_queue', 'a request waits up to 100 ms for a slot before its 503 (a "small queue")',
   (SLOT, '    let Ok(Ok(_slot)) = tokio::time::timeout(Duration::from_millis(100), service.slots.acquire()).await else {\n        return overloaded();\n    };\n'), src=sem)
mk('wrong_05_slots_per_client', 'one semaphore per API key: the limit is per client, not for the service',
   (SLOT, '''    let slots = {
        let mut all = service.per_key_slots.lock().unwrap();
        let key = headers.get("x-api-key").map(|value| value.as_bytes().to_vec());
        all.entry(key).or_insert_with(|| Arc::new(tokio::sync::Semaphore::new(service.max_in_flight))).clone()
    };
    let Ok(_slot) = slots.try_acquire() else {
        return overloaded();
    };
'''),
   ('    slots: Arc<tokio::sync::Semaphore>,\n}', '    slots: Arc<tokio::sync::Semaphore>,\n    per_key_slots: Arc<Mutex<HashMap<Option<Vec<u8>>, Arc<tokio::sync::Semaphore>>>>,\n    max_in_flight: usize,\n}'),
   ('.with_state(Service { backend, client, quotas, slots })', '.with_state(Service { backend, client, quotas, slots, per_key_slots: Arc::default(), max_in_flight: limits.max_in_flight })'),
   src=sem)
mk('wrong_06_counter_leaks_on_failure', 'a hand-kept in-flight counter that a failed backend call never gives back',
   (SLOT, '''    if service.in_flight.fetch_add(1, std::sync::atomic::Ordering::SeqCst) >= service.max_in_flight {
        service.in_flight.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
        return overloaded();
    }
'''),
   ('''        StatusCode::OK => match response.json::<Value>().await {
            Ok(report) => axum::Json(report).into_response(),''', '''        StatusCode::OK => match response.json::<Value>().await {
            Ok(report) => {
                service.in_flight.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
                axum::Json(report).into_response()
            }'''),
   ('        StatusCode::NOT_FOUND => problem(', '        StatusCode::NOT_FOUND => {\n            service.in_flight.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);\n            problem('),
   ('"No such report", None),', '"No such report", None)\n        }'),
   ('    slots: Arc<tokio::sync::Semaphore>,\n}', '    slots: Arc<tokio::sync::Semaphore>,\n    in_flight: Arc<std::sync::atomic::AtomicUsize>,\n    max_in_flight: usize,\n}'),
   ('.with_state(Service { backend, client, quotas, slots })', '.with_state(Service { backend, client, quotas, slots, in_flight: Arc::default(), max_in_flight: limits.max_in_flight })'),
   src=sem)
mk('wrong_07_503_no_retry_after', 'the 503 carries no Retry-After',
   ('problem(StatusCode::SERVICE_UNAVAILABLE, "At capacity, retry shortly", Some(seconds))', 'problem(StatusCode::SERVICE_UNAVAILABLE, "At capacity, retry shortly", None::<u64>.filter(|_| seconds > 0))'))
mk('wrong_08_503_retry_after_zero', 'the 503 says Retry-After: 0',
   ('let seconds = 1 + fastish_random() % 3;', 'let seconds = fastish_random() % 1;'))
mk('wrong_09_429_for_overload', 'a request beyond max_in_flight gets 429',
   ('problem(StatusCode::SERVICE_UNAVAILABLE, "At capacity, retry shortly", Some(seconds))', 'problem(StatusCode::TOO_MANY_REQUESTS, "At capacity, retry shortly", Some(seconds))'))
mk('wrong_10_503_for_quota', 'a client over its quota gets 503',
   ('problem(StatusCode::TOO_MANY_REQUESTS, "Over your quota", Some(seconds as u64))', 'problem(StatusCode::SERVICE_UNAVAILABLE, "Over your quota", Some(seconds as u64))'))
mk('wrong_11_quota_plus_one', 'a client may make per_client + 1 requests per window',
   ('if entries.len() < self.per_client {', 'if entries.len() <= self.per_client {'))
mk('wrong_12_refused_counts', 'a refused request is logged in the quota too',
   ('        let oldest = *entries.front().expect("a full log is not empty");\n',
    '        let oldest = *entries.front().expect("a full log is not empty");\n        entries.push_back(now);\n        entries.pop_front();\n'))
mk('wrong_13_retry_after_rounded_down', 'the 429 Retry-After is rounded down (at least 1)',
   ('let seconds = room_in.as_nanos().div_ceil(1_000_000_000).max(1);', 'let seconds = (room_in.as_nanos() / 1_000_000_000).max(1);'))
mk('wrong_14_retry_after_whole_window', 'the 429 Retry-After is always the whole window',
   ('let seconds = room_in.as_nanos().div_ceil(1_000_000_000).max(1);', 'let seconds = service.quotas.window.as_nanos().div_ceil(1_000_000_000).max(1) + 0 * room_in.as_nanos();'))
mk('wrong_15_keyless_unlimited', 'requests without an x-api-key are not limited at all',
   ('    if let Err(room_in) = service.quotas.admit(key) {', '    if let Err(room_in) = match key {\n        Some(key) => service.quotas.admit(Some(key)),\n        None => Ok(()),\n    } {'))
mk('wrong_16_key_case_folded', 'API keys are compared case-insensitively: two clients whose keys differ in case share a quota',
   ('let key = headers.get("x-api-key").map(|value| value.as_bytes().to_vec());', 'let key = headers.get("x-api-key").map(|value| value.as_bytes().to_ascii_lowercase());'))
mk('wrong_17_one_quota_for_all', 'one quota for every client: the key is ignored',
   ('    if let Err(room_in) = service.quotas.admit(key) {', '    let _ = key;\n    if let Err(room_in) = service.quotas.admit(None) {'))
mk('wrong_18_health_behind_limit', 'the liveness route sits behind the concurrency limit',
   ('''        .route("/reports/{id}", get(report))
        .route_layer(shed)
        .route("/health/live", get(|| async { StatusCode::NO_CONTENT }))''', '''        .route("/reports/{id}", get(report))
        .route("/health/live", get(|| async { StatusCode::NO_CONTENT }))
        .route_layer(shed)'''))
mk('wrong_19_health_in_anonymous_quota', 'liveness probes count against the anonymous quota (and get its 429)',
   ('.route("/health/live", get(|| async { StatusCode::NO_CONTENT }))', '''.route("/health/live", get(|State(service): State<Service>| async move {
            match service.quotas.admit(None) {
                Ok(()) => StatusCode::NO_CONTENT.into_response(),
                Err(_) => problem(StatusCode::TOO_MANY_REQUESTS, "Over your quota", Some(1)),
            }
        }))'''))
mk('wrong_20_backend_5xx_is_503', 'a backend 5xx is answered 503 (the backend status passed through as unavailability)',
   ('        _ => problem(StatusCode::BAD_GATEWAY, "The backend failed", None),\n    }\n}',
    '        status if status.is_server_error() => problem(StatusCode::SERVICE_UNAVAILABLE, "The backend failed", Some(1)),\n        _ => problem(StatusCode::BAD_GATEWAY, "The backend failed", None),\n    }\n}'))
mk('wrong_21_leaks_backend_text', 'a 502 for a backend error carries the backend\'s body in its detail',
   ('        _ => problem(StatusCode::BAD_GATEWAY, "The backend failed", None),\n    }\n}',
    '        _ => {\n            let text = response.text().await.unwrap_or_default();\n            problem(StatusCode::BAD_GATEWAY, &format!("The backend failed: {text}"), None)\n        }\n    }\n}'))
mk('wrong_22_timeout_is_502', 'a backend that does not answer in time gets a 502, not a 504',
   ('''        Err(error) if error.is_timeout() => {
            return problem(StatusCode::GATEWAY_TIMEOUT, "The backend did not answer in time", None);
        }
''', ''))
mk('wrong_23_semaphore_per_request', 'the semaphore is made in the handler, once per request',
   (SLOT, '    let slots = tokio::sync::Semaphore::new(service.slots.available_permits());\n    let Ok(_slot) = slots.try_acquire() else {\n        return overloaded();\n    };\n'), src=sem)
mk('wrong_24_let_underscore_permit', '`let _ = try_acquire()`: the permit is dropped at once',
   (SLOT, '    let Ok(_) = service.slots.try_acquire() else {\n        return overloaded();\n    };\n'), src=sem)
mk('wrong_25_retry_after_period', 'the 429 Retry-After is window / per_client (a token bucket\'s period) on a sliding log',
   ('let seconds = room_in.as_nanos().div_ceil(1_000_000_000).max(1);', 'let seconds = (service.quotas.window / service.quotas.per_client as u32).as_nanos().div_ceil(1_000_000_000).max(1) + 0 * room_in.as_nanos();'))
mk('wrong_26_tarpit_503', 'the 503 is sent after a 150 ms pause, to slow the client down',
   (SLOT, '    let Ok(_slot) = service.slots.try_acquire() else {\n        tokio::time::sleep(Duration::from_millis(150)).await;\n        return overloaded();\n    };\n'), src=sem)
mk('wrong_27_anonymous_429_no_retry_after', 'a keyless client\'s 429 has no Retry-After (another branch)',
   ('''    let key = headers.get("x-api-key").map(|value| value.as_bytes().to_vec());
    if let Err(room_in) = service.quotas.admit(key) {
        let seconds = room_in.as_nanos().div_ceil(1_000_000_000).max(1);
        return problem(StatusCode::TOO_MANY_REQUESTS, "Over your quota", Some(seconds as u64));
    }''', '''    let key = headers.get("x-api-key").map(|value| value.as_bytes().to_vec());
    let anonymous = key.is_none();
    if let Err(room_in) = service.quotas.admit(key) {
        let seconds = room_in.as_nanos().div_ceil(1_000_000_000).max(1);
        let retry_after = if anonymous { None } else { Some(seconds as u64) };
        return problem(StatusCode::TOO_MANY_REQUESTS, "Over your quota", retry_after);
    }'''))
mk('wrong_28_window_in_whole_seconds', 'the age of a logged request is compared with the window in whole seconds',
   ('while entries.front().is_some_and(|&at| now.duration_since(at) >= self.window) {', 'while entries.front().is_some_and(|&at| now.duration_since(at).as_secs() >= self.window.as_secs()) {'))
mk('wrong_29_fixed_window_never_restarts', 'a fixed window whose count restarts but whose start does not move: the second window never opens',
   ('''        while entries.front().is_some_and(|&at| now.duration_since(at) >= self.window) {
            entries.pop_front();
        }''', '''        if entries.front().is_some_and(|&at| now.duration_since(at) >= self.window) {
            let first = entries[0];
            entries.clear();
            entries.push_back(first);
        }'''))

ADMIT = body[body.index('impl Quotas {'):body.index('pub fn app(')]
mk('right_fixed_window', 'a fixed window per client, from its first request (one of the lesson\'s three ways)',
   (ADMIT, '''impl Quotas {
    /// `Ok` and the request counted, or `Err(how long until the window restarts)`.
    fn admit(&self, key: Option<Vec<u8>>) -> Result<(), Duration> {
        let now = Instant::now();
        let mut windows = self.windows.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let (start, count) = windows.entry(key).or_insert((now, 0));
        if now.duration_since(*start) >= self.window {
            (*start, *count) = (now, 0);
        }
        if *count < self.per_client {
            *count += 1;
            return Ok(());
        }
        Err((*start + self.window).saturating_duration_since(now))
    }
}

'''),
   ('    log: Mutex<HashMap<Option<Vec<u8>>, VecDeque<Instant>>>,', '    windows: Mutex<HashMap<Option<Vec<u8>>, (Instant, usize)>>,'),
   ('        log: Mutex::new(HashMap::new()),', '        windows: Mutex::new(HashMap::new()),'),
   ('use std::collections::{HashMap, VecDeque};', 'use std::collections::HashMap;'))
mk('right_governor', 'governor\'s keyed GCRA (the lesson\'s own snippet), Retry-After from wait_time_from',
   (ADMIT, '''impl Quotas {
    fn admit(&self, key: Option<Vec<u8>>) -> Result<(), Duration> {
        use governor::clock::{Clock, Reference};
        self.limiter
            .check_key(&key)
            .map_err(|not_until| not_until.wait_time_from(self.limiter.clock().now()))
    }
}

'''),
   ('''struct Quotas {
    per_client: usize,
    window: Duration,
    log: Mutex<HashMap<Option<Vec<u8>>, VecDeque<Instant>>>,
}''', '''struct Quotas {
    limiter: governor::DefaultKeyedRateLimiter<Option<Vec<u8>>>,
}'''),
   ('''    let quotas = Arc::new(Quotas {
        per_client: limits.per_client as usize,
        window: limits.window,
        log: Mutex::new(HashMap::new()),
    });''', '''    let per_client = std::num::NonZeroU32::new(limits.per_client).expect("a quota of at least one");
    let quota = governor::Quota::with_period(limits.window / limits.per_client)
        .expect("a period longer than zero")
        .allow_burst(per_client);
    let quotas = Arc::new(Quotas { limiter: governor::RateLimiter::hashmap(quota) });'''),
   ('use std::collections::{HashMap, VecDeque};\nuse std::sync::{Arc, Mutex};', 'use std::sync::Arc;'))
mk('right_503_http_date', 'the 503\'s Retry-After is an HTTP-date two seconds ahead (RFC 9110 allows either form)',
   ('''    if let Some(seconds) = retry_after {
        response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    }''', '''    if let Some(seconds) = retry_after {
        let value = if status == StatusCode::SERVICE_UNAVAILABLE {
            let at = std::time::SystemTime::now() + Duration::from_secs(seconds + 1);
            HeaderValue::from_str(&httpdate::fmt_http_date(at)).expect("a date is a header value")
        } else {
            HeaderValue::from(seconds)
        };
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }'''))

mk('wrong_18b_health_shares_the_slots', 'the liveness probe takes one of the backend slots (503 when they are all taken)',
   ('.route("/health/live", get(|| async { StatusCode::NO_CONTENT }))', '''.route("/health/live", get(|State(service): State<Service>| async move {
            match service.slots.try_acquire() {
                Ok(_slot) => StatusCode::NO_CONTENT.into_response(),
                Err(_) => overloaded(),
            }
        }))'''), src=sem)

mk('wrong_30_static_semaphore', 'the semaphore is a static, made by the first app() of the process and shared by every instance after it',
   ('    let slots = Arc::new(tokio::sync::Semaphore::new(limits.max_in_flight));\n',
    '''    static SLOTS: std::sync::OnceLock<Arc<tokio::sync::Semaphore>> = std::sync::OnceLock::new();
    let slots = Arc::clone(SLOTS.get_or_init(|| Arc::new(tokio::sync::Semaphore::new(limits.max_in_flight))));
'''), src=sem)
mk('wrong_31_static_quota_log', 'the quota log is a static shared by every instance of the process (each instance applies its own limits to it)',
   ('''        let mut log = self.log.lock().unwrap_or_else(|poisoned| poisoned.into_inner());''',
    '''        static LOG: std::sync::LazyLock<Mutex<HashMap<Option<Vec<u8>>, VecDeque<Instant>>>> =
            std::sync::LazyLock::new(Mutex::default);
        let _ = &self.log;
        let mut log = LOG.lock().unwrap_or_else(|poisoned| poisoned.into_inner());'''))

mk('wrong_32_retry_after_from_newest', 'the 429 Retry-After counts from the newest request let in, not the oldest',
   ('        let oldest = *entries.front().expect("a full log is not empty");\n        Err((oldest + self.window).saturating_duration_since(now))',
    '        let newest = *entries.back().expect("a full log is not empty");\n        Err((newest + self.window).saturating_duration_since(now))'))
