use std::sync::atomic::{AtomicU32, Ordering};

use super::*;

fn client() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().timeout(Duration::from_secs(3)).build().unwrap()
}

#[tokio::test]
async fn each_upstream_has_an_address_of_its_own_and_notes_what_it_decided() {
    let calls = AtomicU32::new(0);
    let upstream = Upstream::start(move |seen| {
        let n = calls.fetch_add(1, Ordering::SeqCst);
        Reply::json(200, &serde_json::json!({"n": n, "path": seen.path()}))
    })
    .await;
    let other = Upstream::start(|_| Reply::status(204)).await;
    assert_ne!(upstream.address.ip(), other.address.ip());
    let answer = client().get(format!("{}/a?x=1", upstream.base)).send().await.unwrap();
    assert_eq!(answer.text().await.unwrap(), r#"{"n":0,"path":"/a"}"#);
    let seen = upstream.seen();
    assert_eq!((seen.len(), seen[0].target.as_str()), (1, "/a?x=1"));
    assert_eq!(seen[0].reply.status_code(), Some(200));
    assert!(upstream.wait_until(Duration::from_secs(1), |seen| seen[0].ended.is_some()).await);
    assert!(!upstream.seen()[0].abandoned);
}

#[tokio::test]
async fn a_client_that_hangs_up_on_a_slow_reply_is_noticed_when_it_does() {
    let upstream =
        Upstream::start(|_| Reply::Delayed(Duration::from_secs(5), Box::new(Reply::status(200))))
            .await;
    let quick = reqwest::Client::builder().timeout(Duration::from_millis(100)).build().unwrap();
    let started = Instant::now();
    assert!(quick.get(&upstream.base).send().await.is_err());
    assert!(upstream.wait_until(Duration::from_secs(2), |seen| seen[0].ended.is_some()).await);
    let seen = &upstream.seen()[0];
    assert!(seen.abandoned);
    assert!(seen.ended.unwrap().duration_since(started) < Duration::from_millis(500));
}

#[tokio::test]
async fn a_held_reply_goes_when_released_and_no_later_than_its_limit() {
    let release = Release::default();
    let held = release.clone();
    let upstream = Upstream::start(move |_| Reply::Held {
        release: held.clone(),
        at_most: Duration::from_secs(5),
        then: Box::new(Reply::status(201)),
    })
    .await;
    let started = Instant::now();
    let asked = tokio::spawn(client().get(&upstream.base).send());
    assert!(upstream.wait_until(Duration::from_secs(2), |seen| !seen.is_empty()).await);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(!asked.is_finished(), "a held reply went before it was released");
    release.open();
    assert_eq!(asked.await.unwrap().unwrap().status(), 201);
    assert!(started.elapsed() < Duration::from_secs(2), "{:?}", started.elapsed());
    // Never released: it goes at its limit.
    let limited = Upstream::start(|_| Reply::Held {
        release: Release::default(),
        at_most: Duration::from_millis(200),
        then: Box::new(Reply::status(200)),
    })
    .await;
    let started = Instant::now();
    assert_eq!(client().get(&limited.base).send().await.unwrap().status(), 200);
    assert!(started.elapsed() >= Duration::from_millis(200), "{:?}", started.elapsed());
}

#[tokio::test]
async fn resets_trickles_and_keep_alive_behave_as_scripted() {
    let reset = Upstream::start(|_| Reply::Reset).await;
    assert!(client().get(&reset.base).send().await.is_err());
    let trickle = Upstream::start(|_| Reply::Trickle {
        response: Box::new(Reply::json(200, &serde_json::json!({"ok": true}))),
        chunk: 16,
        every: Duration::from_millis(20),
    })
    .await;
    let started = Instant::now();
    let body = client().get(&trickle.base).send().await.unwrap().text().await.unwrap();
    assert_eq!(body, r#"{"ok":true}"#);
    assert!(started.elapsed() >= Duration::from_millis(100), "{:?}", started.elapsed());
    let body_late = Upstream::start(|_| Reply::TrickleBody {
        response: Box::new(Reply::json(200, &serde_json::json!({"ok": true, "pad": "xxxxxxxx"}))),
        chunk: 4,
        every: Duration::from_millis(20),
    })
    .await;
    let started = Instant::now();
    let response = client().get(&body_late.base).send().await.unwrap();
    let head_took = started.elapsed();
    assert_eq!(response.text().await.unwrap(), r#"{"ok":true,"pad":"xxxxxxxx"}"#);
    assert!(head_took < Duration::from_millis(60), "the head took {head_took:?}");
    assert!(started.elapsed() >= Duration::from_millis(140), "{:?}", started.elapsed());
    let kept =
        Upstream::with(Options { keep_alive: true, ..Options::default() }, |_| Reply::status(200))
            .await;
    for _ in 0..3 {
        client().get(&kept.base).send().await.unwrap();
    }
    let pooled = client();
    for _ in 0..3 {
        pooled.get(&kept.base).send().await.unwrap().bytes().await.unwrap();
    }
    assert_eq!(kept.asked(), 6);
    assert_eq!(kept.connections(), 4, "three clients of one request, one of three");
}

#[tokio::test]
async fn past_its_cap_an_upstream_holds_its_tongue() {
    let capped =
        Upstream::with(Options { cap: 2, ..Options::default() }, |_| Reply::status(500)).await;
    let quick = reqwest::Client::builder().timeout(Duration::from_millis(200)).build().unwrap();
    for _ in 0..2 {
        assert_eq!(quick.get(&capped.base).send().await.unwrap().status(), 500);
    }
    assert!(quick.get(&capped.base).send().await.is_err());
    assert!(capped.capped());
}

#[tokio::test]
async fn refused_and_unreachable_addresses_answer_nothing() {
    let refused = refused();
    let error = client().get(format!("http://{}", refused.address)).send().await.unwrap_err();
    assert!(error.is_connect(), "{error:?}");
    let unreachable = unreachable().await;
    let quick =
        reqwest::Client::builder().connect_timeout(Duration::from_millis(150)).build().unwrap();
    let started = Instant::now();
    assert!(quick.get(format!("http://{}", unreachable.address)).send().await.is_err());
    assert!(started.elapsed() >= Duration::from_millis(140));
}

#[tokio::test]
async fn a_refusing_upstream_answers_once_opened() {
    let (upstream, opener) =
        Upstream::refusing(Options::default(), |_| Reply::json(201, &serde_json::json!({})));
    let error = client().get(&upstream.base).send().await.unwrap_err();
    assert!(error.is_connect(), "{error:?}");
    assert_eq!(upstream.asked(), 0);
    opener.open();
    let mut answered = None;
    for _ in 0..100 {
        if let Ok(response) = client().get(&upstream.base).send().await {
            answered = Some(response.status().as_u16());
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(answered, Some(201));
    assert_eq!(upstream.asked(), 1);
}

#[test]
fn paths_are_read_segment_by_segment_and_decoded_strictly() {
    let seen = |target: &str| Seen {
        method: "GET".into(),
        target: target.into(),
        headers: Vec::new(),
        body: Vec::new(),
        at: Instant::now(),
        connection: 0,
        reply: Reply::Silence,
        ended: None,
        abandoned: false,
    };
    let segments = |target: &str| seen(target).segments();
    assert_eq!(segments("/prices/BRK%2FB?x=1").unwrap(), ["prices", "BRK/B"]);
    assert_eq!(segments("/prices/..%2Fadmin").unwrap(), ["prices", "../admin"]);
    assert_eq!(segments("/prices/A/B").unwrap(), ["prices", "A", "B"]);
    assert_eq!(segments("/prices/%zz"), None);
    assert_eq!(segments("/prices/%96"), None, "not UTF-8");
    assert_eq!(percent_decoded("%2541").as_deref(), Some("%41"));
}

#[tokio::test]
async fn the_busiest_moment_counts_the_requests_under_way_together() {
    let upstream = Upstream::start(|seen| {
        let delay = if seen.path() == "/slow" { 300 } else { 20 };
        Reply::Delayed(Duration::from_millis(delay), Box::new(Reply::status(200)))
    })
    .await;
    let client = client();
    let (slow, other_slow) = (format!("{}/slow", upstream.base), format!("{}/slow", upstream.base));
    let quick = format!("{}/quick", upstream.base);
    let together = futures_util::future::join3(
        client.get(&slow).send(),
        client.get(&other_slow).send(),
        async {
            tokio::time::sleep(Duration::from_millis(100)).await;
            client.get(&quick).send().await
        },
    );
    let _ = together.await;
    // One after another: never more than one at once.
    client.get(&quick).send().await.unwrap();
    client.get(&quick).send().await.unwrap();
    let busiest = upstream.most_at_once(Duration::from_millis(5));
    assert_eq!(busiest.len(), 3, "{busiest:?}");
    assert_eq!(upstream.asked(), 5);
}

#[tokio::test]
async fn a_call_whose_body_is_still_coming_is_under_way() {
    let upstream = Upstream::start(|seen| {
        let report = Reply::json(200, &serde_json::json!({"title": "Quarterly report"}));
        match seen.path() {
            "/slow" => Reply::Delayed(
                Duration::from_millis(50),
                Box::new(Reply::TrickleBody {
                    response: Box::new(report),
                    chunk: 8,
                    every: Duration::from_millis(60),
                }),
            ),
            _ => report,
        }
    })
    .await;
    let client = client();
    // The head of the slow one, then the quick one while its body trickles.
    let slow = client.get(format!("{}/slow", upstream.base)).send().await.unwrap();
    client.get(format!("{}/quick", upstream.base)).send().await.unwrap();
    slow.bytes().await.unwrap();
    assert_eq!(upstream.most_at_once(Duration::from_millis(5)).len(), 2);
    // One after the other, the first read whole: one at a time.
    let after = Upstream::start(|_| Reply::status(200)).await;
    client.get(&after.base).send().await.unwrap().bytes().await.unwrap();
    client.get(&after.base).send().await.unwrap();
    assert_eq!(after.most_at_once(Duration::from_millis(5)).len(), 1);
}
