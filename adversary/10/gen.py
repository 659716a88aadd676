# Generates wrong_XX_*.rs from right_a_handmade.rs: each one defect, applied by exact replacement.
import sys
base = open('right_a_handmade.rs').read()
base = base.split('\n', 2)[2]
V = []
def v(name, doc, *reps):
    V.append((name, doc, reps))

CHARSET = "id.iter().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))"
FRESH_SIG = "fn fresh_id() -> String {\n"
v('01_route_layer', 'ids added with route_layer: the router\'s own 404 gets none.',
  (".layer(middleware::from_fn(name_request))", ".route_layer(middleware::from_fn(name_request))"),
  (".fallback(|Extension(id): Extension<RequestId>| async move {\n            problem(StatusCode::NOT_FOUND, &id)\n        })",
   ".fallback(async || problem(StatusCode::NOT_FOUND, &RequestId(String::new())))"))
v('02_colon_allowed', 'also trusts ":" in ids (urn-like ids), outside the lesson\'s charset.',
  (CHARSET, "id.iter().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b':'))"))
v('03_length_129', 'trusts ids up to 129 bytes.', ("(1..=128).contains(&id.len())", "(1..=129).contains(&id.len())"))
v('04_length_127', 'refuses a 128-byte id (keeps 1 to 127).', ("(1..=128).contains(&id.len())", "(1..128).contains(&id.len())"))
v('05_empty_kept', 'an empty incoming id is kept.', ("(1..=128).contains(&id.len())", "(0..=128).contains(&id.len())"))
v('06_first_of_many', 'with several x-request-id headers, keeps the first when it is well-formed.',
  ("let given: Vec<&HeaderValue> = request.headers().get_all(\"x-request-id\").iter().collect();\n    let id = match given[..] {\n        [one]",
   "let given: Vec<&HeaderValue> = request.headers().get_all(\"x-request-id\").iter().collect();\n    let id = match given[..] {\n        [one, ..]"))
v('07_counter', 'fresh ids from a process-wide counter.',
  (FRESH_SIG, FRESH_SIG + "    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);\n    if true {\n        return format!(\"req-{:08}\", NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed));\n    }\n"))
v('08_timestamp', 'fresh ids from the clock alone (nanoseconds, hex).',
  (FRESH_SIG, FRESH_SIG + "    if true {\n        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();\n        return format!(\"{nanos:x}\");\n    }\n"))
XORSHIFT = "    static STATE: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0x2545_F491_4F6C_DD1D);\n    let mut x = STATE.load(std::sync::atomic::Ordering::Relaxed);\n    x ^= x << 13;\n    x ^= x >> 7;\n    x ^= x << 17;\n    STATE.store(x, std::sync::atomic::Ordering::Relaxed);\n    if true {\n        return format!(\"{x:016x}{:016x}\", x.wrapping_mul(0x9E37_79B9_7F4A_7C15));\n    }\n"
v('09_constant_seed', 'fresh ids from a PRNG seeded with a constant: every process makes the same sequence.',
  (FRESH_SIG, FRESH_SIG + XORSHIFT))
v('10_once_per_app', 'one fresh id made in app() and given to every request that brings none.',
  ("        .layer(middleware::from_fn(name_request))", "        .layer(middleware::from_fn(move |request, next| name_request(request, next, fallback_id.clone())))"),
  ("    Router::new()\n", "    let fallback_id = fresh_id();\n    Router::new()\n"),
  ("async fn name_request(mut request: Request, next: Next) -> Response {", "async fn name_request(mut request: Request, next: Next, fallback_id: String) -> Response {"),
  ("        _ => fresh_id(),\n", "        _ => fallback_id,\n"))
v('11_global_current_id', 'the current id kept in a global: the handler reads whatever request wrote it last.',
  ("#[derive(Clone)]\nstruct RequestId(String);\n", "#[derive(Clone)]\nstruct RequestId(String);\n\nstatic CURRENT: std::sync::Mutex<String> = std::sync::Mutex::new(String::new());\n"),
  ("    request.extensions_mut().insert(RequestId(id.clone()));\n", "    *CURRENT.lock().unwrap() = id.clone();\n    request.extensions_mut().insert(RequestId(id.clone()));\n"),
  ("    Extension(id): Extension<RequestId>,\n    Path(order_id): Path<u32>,\n) -> Response {\n",
   "    Extension(_): Extension<RequestId>,\n    Path(order_id): Path<u32>,\n) -> Response {\n    let id = RequestId(CURRENT.lock().unwrap().clone());\n"))
v('12_fallback_body_no_id', 'the router\'s own 404 body carries no id.',
  (".fallback(|Extension(id): Extension<RequestId>| async move {\n            problem(StatusCode::NOT_FOUND, &id)\n        })",
   ".fallback(|Extension(_id): Extension<RequestId>| async move {\n            problem(StatusCode::NOT_FOUND, &RequestId(String::new()))\n        })"))
v('13_plain_json', 'errors as application/json, not application/problem+json.',
  (".header(header::CONTENT_TYPE, \"application/problem+json\")", ".header(header::CONTENT_TYPE, \"application/json\")"),
  ("kind.as_bytes().starts_with(b\"application/problem+json\")", "kind.as_bytes().starts_with(b\"application/json\")"))
v('14_no_status_member', 'problem bodies without the status member.',
  ("        \"status\": status.as_u16(),\n", ""))
v('15_500_detail_reason', 'the 500\'s body says what the database said (detail = reason).',
  ("fn problem(status: StatusCode, id: &RequestId) -> Response {", "fn problem(status: StatusCode, id: &RequestId) -> Response {\n    problem_with(status, id, \"Quote the instance when you contact support.\")\n}\n\nfn problem_with(status: StatusCode, id: &RequestId, detail: &str) -> Response {"),
  ("        \"detail\": \"Quote the instance when you contact support.\",", "        \"detail\": detail,"),
  ("            return problem(StatusCode::INTERNAL_SERVER_ERROR, &id);", "            return problem_with(StatusCode::INTERNAL_SERVER_ERROR, &id, error.reason());"))
v('16_502_detail_upstream_body', 'the 502\'s body quotes what the shipping service answered.',
  ("fn problem(status: StatusCode, id: &RequestId) -> Response {", "fn problem(status: StatusCode, id: &RequestId) -> Response {\n    problem_with(status, id, \"Quote the instance when you contact support.\")\n}\n\nfn problem_with(status: StatusCode, id: &RequestId, detail: &str) -> Response {"),
  ("        \"detail\": \"Quote the instance when you contact support.\",", "        \"detail\": detail,"),
  ("        Ok(response) => {\n            tracing::error!(request_id = %id.0, status = %response.status(), \"shipping failed\");\n            return problem(StatusCode::BAD_GATEWAY, &id);",
   "        Ok(response) => {\n            tracing::error!(request_id = %id.0, status = %response.status(), \"shipping failed\");\n            let said = response.text().await.unwrap_or_default();\n            return problem_with(StatusCode::BAD_GATEWAY, &id, &format!(\"shipping said: {said}\"));"))
v('17_logged_twice', 'every 5xx is logged again by the middleware, on top of the handler\'s line.',
  ("    let mut response = next.run(request).await;\n", "    let mut response = next.run(request).await;\n    if response.status().is_server_error() {\n        tracing::error!(request_id = %id, status = %response.status(), \"request failed\");\n    }\n"))
v('18_502_log_no_id', 'the shipping failure\'s log line forgets the id.',
  ("tracing::error!(request_id = %id.0, status = %response.status(), \"shipping failed\");", "tracing::error!(status = %response.status(), \"shipping failed\");"))
v('19_logs_rejected_value', 'logs the rejected incoming id ("replaced untrusted id …").',
  ("        _ => fresh_id(),\n", "        _ => {\n            let fresh = fresh_id();\n            if let Some(bad) = given.first() {\n                tracing::warn!(rejected = ?bad, replaced_by = %fresh, \"replaced an untrusted request id\");\n            }\n            fresh\n        }\n"))
v('20_logs_password', 'the 500\'s log line prints the error with Display, connection string and password included.',
  ("                query = error.query_id(),\n                host = error.host(),\n                reason = error.reason(),\n", "                %error,\n"))
v('21_upstream_no_id', 'the shipping service is asked without the id.',
  (".header(\"x-request-id\", &id.0)", ""))
v('22_upstream_raw_incoming', 'the shipping service gets the incoming header as it came (even malformed).',
  ("async fn name_request(mut request: Request, next: Next) -> Response {", "#[derive(Clone)]\nstruct Raw(Option<HeaderValue>);\n\nasync fn name_request(mut request: Request, next: Next) -> Response {\n    let raw = Raw(request.headers().get(\"x-request-id\").cloned());\n    request.extensions_mut().insert(raw);"),
  ("    Extension(id): Extension<RequestId>,\n    Path(order_id): Path<u32>,\n", "    Extension(id): Extension<RequestId>,\n    Extension(raw): Extension<Raw>,\n    Path(order_id): Path<u32>,\n"),
  (".header(\"x-request-id\", &id.0)", ".header(\"x-request-id\", raw.0.unwrap_or_else(|| HeaderValue::from_str(&id.0).unwrap()))"))
v('23_upstream_fresh_id', 'the shipping service gets an id of its own, fresh for the call.',
  (".header(\"x-request-id\", &id.0)", ".header(\"x-request-id\", fresh_id())"))
v('24_traceparent_verbatim', 'passes the incoming traceparent on unchanged.',
  ("    Path(order_id): Path<u32>,\n) -> Response {\n", "    Path(order_id): Path<u32>,\n    headers: axum::http::HeaderMap,\n) -> Response {\n"),
  (".header(\"x-request-id\", &id.0)", ".header(\"x-request-id\", &id.0).headers(headers.get_all(\"traceparent\").iter().map(|v| (header::HeaderName::from_static(\"traceparent\"), v.clone())).collect())"))
v('25_traceparent_new_trace', 'passes a traceparent with a new trace id (and its own parent).',
  ("    Path(order_id): Path<u32>,\n) -> Response {\n", "    Path(order_id): Path<u32>,\n    headers: axum::http::HeaderMap,\n) -> Response {\n"),
  (".header(\"x-request-id\", &id.0)", ".header(\"x-request-id\", &id.0).headers(headers.get(\"traceparent\").map(|_| { let u = uuid::Uuid::new_v4().simple().to_string(); let mut m = axum::http::HeaderMap::new(); m.insert(\"traceparent\", HeaderValue::from_str(&format!(\"00-{u}-{}-01\", &u[..16])).unwrap()); m }).unwrap_or_default())"))
v('26_lowercased', 'a kept id comes back lowercased.',
  ("[one] if trusted(one.as_bytes()) => String::from_utf8_lossy(one.as_bytes()).into_owned(),", "[one] if trusted(one.as_bytes()) => String::from_utf8_lossy(one.as_bytes()).to_ascii_lowercase(),"))
v('27_truncated_kept', 'a long id is cut to 128 bytes and kept.',
  ("        [one] if trusted(one.as_bytes()) =>", "        [one] if one.len() > 128 && trusted(&one.as_bytes()[..128]) => String::from_utf8_lossy(&one.as_bytes()[..128]).into_owned(),\n        [one] if trusted(one.as_bytes()) =>"))
v('28_sanitised', 'an id with bad characters is cleaned (bad bytes dropped) and kept.',
  ("        _ => fresh_id(),\n", "        [one] => {\n            let kept: Vec<u8> = one.as_bytes().iter().copied().filter(|b| trusted(&[*b])).take(128).collect();\n            if kept.is_empty() { fresh_id() } else { String::from_utf8(kept).unwrap() }\n        }\n        _ => fresh_id(),\n"))
v('29_500_body_no_id', 'the 500\'s body alone carries no id.',
  ("            return problem(StatusCode::INTERNAL_SERVER_ERROR, &id);", "            return problem(StatusCode::INTERNAL_SERVER_ERROR, &RequestId(String::new()));"))
v('30_short_random', 'fresh ids of 24 random bits (6 hex digits).',
  (FRESH_SIG, FRESH_SIG + "    if true {\n        return format!(\"{:06x}\", uuid::Uuid::new_v4().as_u128() & 0xff_ffff);\n    }\n"))
v('31_502_as_500', 'a failing shipping service is answered 500, not 502.',
  ("            tracing::error!(request_id = %id.0, status = %response.status(), \"shipping failed\");\n            return problem(StatusCode::BAD_GATEWAY, &id);",
   "            tracing::error!(request_id = %id.0, status = %response.status(), \"shipping failed\");\n            return problem(StatusCode::INTERNAL_SERVER_ERROR, &id);"))
v('32_two_header_lines', 'the response carries the id twice (appended next to one set by a layer).',
  ("    response\n        .headers_mut()\n        .insert(\"x-request-id\"", "    response.headers_mut().append(\"x-request-id\", HeaderValue::from_str(&id).expect(\"x\"));\n    response\n        .headers_mut()\n        .append(\"x-request-id\""))
v('33_body_other_id', 'the problem body carries a fresh id of its own, not the header\'s.',
  ("        \"instance\": format!(\"urn:request:{}\", id.0),", "        \"instance\": format!(\"urn:request:{}\", if id.0.is_empty() { String::new() } else { fresh_id() }),"))
v('34_rejections_plain', 'axum\'s own rejections (405, 400 for /orders/abc) stay plain text, not problem details.',
  ("    if (response.status().is_client_error() || response.status().is_server_error()) && !is_problem\n    {",
   "    if false && !is_problem {"))
v('35_fallback_200', 'an unknown path answers 200 with a problem body (status member 404).',
  (".fallback(|Extension(id): Extension<RequestId>| async move {\n            problem(StatusCode::NOT_FOUND, &id)\n        })",
   ".fallback(|Extension(id): Extension<RequestId>| async move {\n            let mut r = problem(StatusCode::NOT_FOUND, &id);\n            *r.status_mut() = StatusCode::OK;\n            r\n        })"))
v('36_multi_header_keep_last', 'with several x-request-id headers, keeps the last well-formed one.',
  ("        [one] if trusted(one.as_bytes()) =>", "        [.., one] if trusted(one.as_bytes()) =>"))

for name, doc, reps in V:
    text = base
    for old, new in reps:
        if text.count(old) != 1:
            sys.exit(f'{name}: {old[:60]!r} found {text.count(old)} times')
        text = text.replace(old, new)
    open(f'wrong_{name}.rs', 'w').write(f'//! WRONG: {doc}\n' + text)
print(len(V), 'written')
