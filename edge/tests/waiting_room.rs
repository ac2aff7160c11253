//! The waiting room at the edge: status polls answered from a cursor the core is asked for at
//! most once a second, admissions signed for the ticket's buyer only, forged and transferred
//! tickets refused, the per-node limit, and the page a buyer waits on.

mod support;

use chrono::TimeDelta;
use edgeshop_edge::{Host, Method, Request};
use shared_model::flash_sale::{AdmissionKey, AdmissionToken, LOTTERY_SPAN, Place, QueueTicket};
use shared_model::ids::{FlashSaleId, UserId};
use support::{ADMISSION_SECRET, BUYER, Edge, PHONE, SALE, ticket};

fn poll(edge: &Edge, user: i64, ticket: &str) -> edgeshop_edge::Response {
    edge.send(
        Request::new(Method::Get, &format!("/api/flash-sales/{SALE}/status"))
            .with_header("authorization", &format!("Bearer {}", edge.token(user)))
            .with_header("x-queue-ticket", ticket),
    )
}

fn json(response: &edgeshop_edge::Response) -> serde_json::Value {
    serde_json::from_slice(&response.body).unwrap()
}

/// Calls the edge made to the core's URLs ending so.
fn core_calls_to(edge: &Edge, path_end: &str) -> usize {
    edge.host
        .core_calls()
        .iter()
        .filter(|c| c.url.ends_with(path_end))
        .count()
}

fn cursor_calls(edge: &Edge) -> usize {
    core_calls_to(edge, "/admission")
}

#[test]
fn status_polls_are_answered_at_the_edge_from_a_cursor_asked_for_once_a_second() {
    let edge = Edge::new();
    let mine = ticket(BUYER, 5);
    for _ in 0..100 {
        let answer = poll(&edge, BUYER, &mine);
        assert_eq!(answer.status, 200);
        let status = json(&answer);
        assert_eq!(status["state"], "WAITING");
        assert_eq!(status["position"], 6, "five arrivals ahead, and this buyer");
        assert_eq!(status["estimatedWaitSeconds"], 1, "six at 600 a minute");
        assert_eq!(
            status["refreshAfterSeconds"], 2,
            "no sooner than in two seconds"
        );
        assert!(status["admissionToken"].is_null());
    }
    assert_eq!(
        cursor_calls(&edge),
        1,
        "a hundred polls, one call to the core"
    );
    edge.host.advance(TimeDelta::milliseconds(1_100));
    poll(&edge, BUYER, &mine);
    assert_eq!(
        cursor_calls(&edge),
        2,
        "the cursor is a second fresh at most"
    );
}

#[test]
fn an_admitted_buyer_gets_an_admission_for_themselves_and_this_sale() {
    let edge = Edge::new();
    {
        let mut cursor = edge.cursor.borrow_mut();
        cursor.admitted = 6;
        support::admit_arrivals(&mut cursor, 6);
        cursor.early_threshold = LOTTERY_SPAN;
    }
    let status = json(&poll(&edge, BUYER, &ticket(BUYER, 5)));
    assert_eq!(status["state"], "ADMITTED");
    assert_eq!(status["position"], 0);
    assert!(
        status["refreshAfterSeconds"].is_null(),
        "nothing to wait for"
    );
    let token = status["admissionToken"].as_str().unwrap();
    let key = AdmissionKey::from_secret(ADMISSION_SECRET).unwrap();
    let now = support::start().timestamp();
    let admission = key
        .verify_admission(token, FlashSaleId::new(SALE), UserId::new(BUYER), now)
        .unwrap();
    assert_eq!(admission.ticket_id, uuid::Uuid::from_u128(6));
    assert!(
        key.verify_admission(token, FlashSaleId::new(SALE), UserId::new(BUYER + 1), now)
            .is_err()
    );
    // One arrival later is not in yet; a sold-out sale says so to those still waiting.
    assert_eq!(
        json(&poll(&edge, BUYER, &ticket(BUYER, 6)))["state"],
        "WAITING"
    );
    edge.cursor.borrow_mut().sold_out = true;
    edge.host.advance(TimeDelta::seconds(2));
    assert_eq!(
        json(&poll(&edge, BUYER, &ticket(BUYER, 6)))["state"],
        "SOLD_OUT"
    );
}

#[test]
fn while_every_unit_is_held_the_wait_counts_from_when_one_may_come_back() {
    let edge = Edge::new();
    let queued = json(&poll(&edge, BUYER, &ticket(BUYER, 59)));
    assert_eq!(queued["state"], "WAITING");
    // 60 ahead at 600 a minute.
    assert_eq!(queued["estimatedWaitSeconds"], 6);
    assert_eq!(queued["refreshAfterSeconds"], 3, "half the wait");

    edge.host.advance(TimeDelta::seconds(2));
    {
        let mut cursor = edge.cursor.borrow_mut();
        cursor.sold_out = true;
        cursor.unit_may_return_at = Some(support::start() + TimeDelta::seconds(2 + 45));
    }
    let held = json(&poll(&edge, BUYER, &ticket(BUYER, 59)));
    assert_eq!(held["state"], "SOLD_OUT");
    assert_eq!(held["estimatedWaitSeconds"], 45 + 6, "{held}");
    assert_eq!(held["refreshAfterSeconds"], 30, "at least every 30 s");

    // Sold out with nothing held (every unit paid for): only the queue's own wait.
    edge.host.advance(TimeDelta::seconds(2));
    edge.cursor.borrow_mut().unit_may_return_at = None;
    let sold = json(&poll(&edge, BUYER, &ticket(BUYER, 59)));
    assert_eq!(sold["state"], "SOLD_OUT");
    assert_eq!(sold["estimatedWaitSeconds"], 6);
    assert_eq!(sold["refreshAfterSeconds"], 6, "the whole wait");
}

/// A ticket of one who joined before the start, with this lottery number.
fn early_ticket(user: i64, lottery: u64) -> String {
    support::ticket_at(
        user,
        Place::BeforeStart { lottery },
        u128::from(lottery) + 1,
    )
}

#[test]
fn before_the_start_an_early_joiner_is_told_when_its_turn_may_come() {
    let edge = Edge::new();
    {
        let mut cursor = edge.cursor.borrow_mut();
        cursor.started = false;
        cursor.starts_at = support::start() + TimeDelta::seconds(60);
        cursor.early_joiners = 1_000;
        cursor.joined = 1_000;
    }
    let middle = early_ticket(BUYER, LOTTERY_SPAN / 2);
    let status = json(&poll(&edge, BUYER, &middle));
    assert_eq!(status["state"], "NOT_STARTED");
    assert_eq!(status["position"], 501, "half of those who joined so far");
    // 501 at 600 a minute, from the start a minute away.
    assert_eq!(status["estimatedWaitSeconds"], 60 + 51, "{status}");
    assert!(status["admissionToken"].is_null());
    let first = json(&poll(&edge, BUYER, &early_ticket(BUYER, 0)));
    assert_eq!(first["estimatedWaitSeconds"], 60 + 1);

    // The page says so, and looks again in 30 s at most (later joiners push the turn back).
    let cookies = format!("session={}; queue_{SALE}={middle}", edge.token(BUYER));
    let page = edge
        .send(Request::new(Method::Get, &format!("/sale/{SALE}")).with_header("cookie", &cookies));
    let text = String::from_utf8_lossy(&page.body);
    assert!(
        text.contains("your turn comes about 51 s after the start"),
        "{text}"
    );
    assert!(
        text.contains("http-equiv=\"refresh\" content=\"30\""),
        "{text}"
    );
}

#[test]
fn forged_transferred_and_missing_tickets_are_refused() {
    let edge = Edge::new();
    let forged = AdmissionKey::from_secret("not-the-shared-secret-but-long-enough-0000")
        .unwrap()
        .sign_ticket(&QueueTicket {
            sale: FlashSaleId::new(SALE),
            user: UserId::new(BUYER),
            ticket_id: uuid::Uuid::nil(),
            place: Place::AfterStart {
                arrived_ms: support::arrived(0),
            },
            joined_at: 0,
        })
        .unwrap();
    for (user, ticket) in [
        (BUYER, forged),
        (BUYER + 1, ticket(BUYER, 5)),
        (BUYER, "junk".into()),
    ] {
        let refused = poll(&edge, user, &ticket);
        assert_eq!(
            refused.status,
            403,
            "{}",
            String::from_utf8_lossy(&refused.body)
        );
        assert_eq!(json(&refused)["error"]["code"], "invalid_ticket");
    }
    let anonymous = edge.send(
        Request::new(Method::Get, &format!("/api/flash-sales/{SALE}/status"))
            .with_header("x-queue-ticket", &ticket(BUYER, 5)),
    );
    assert_eq!(anonymous.status, 401);
    let without = edge.send(
        Request::new(Method::Get, &format!("/api/flash-sales/{SALE}/status"))
            .with_header("authorization", &format!("Bearer {}", edge.token(BUYER))),
    );
    assert_eq!(without.status, 400);
    assert_eq!(poll(&edge, BUYER, &ticket(BUYER, 5)).status, 200);
    assert_eq!(
        cursor_calls(&edge),
        1,
        "refused tickets never cost the core a call"
    );
}

#[test]
fn one_client_is_limited_per_node() {
    let edge = Edge::new();
    let mine = ticket(BUYER, 5);
    let from = |ip: &str| {
        edge.send(
            Request::new(Method::Get, &format!("/api/flash-sales/{SALE}/status"))
                .with_header("authorization", &format!("Bearer {}", edge.token(BUYER)))
                .with_header("x-queue-ticket", &mine)
                .with_header("cf-connecting-ip", ip),
        )
    };
    let answers: Vec<u16> = (0..25).map(|_| from("192.0.2.77").status).collect();
    assert_eq!(answers.iter().filter(|s| **s == 200).count(), 20);
    let limited = from("192.0.2.77");
    assert_eq!(limited.status, 429);
    assert_eq!(limited.header("retry-after"), Some("1"));
    assert_eq!(
        from("192.0.2.78").status,
        200,
        "another client is not affected"
    );
}

#[test]
fn the_waiting_room_page_joins_waits_and_sends_the_admitted_to_checkout() {
    let edge = Edge::new();
    let session = format!("session={}", edge.token(BUYER));
    let page = |cookies: &str| {
        edge.send(
            Request::new(Method::Get, &format!("/sale/{SALE}")).with_header("cookie", cookies),
        )
    };
    let text = |r: &edgeshop_edge::Response| String::from_utf8_lossy(&r.body).into_owned();

    let anonymous = page("");
    assert_eq!(anonymous.status, 200);
    assert!(text(&anonymous).contains("Sign in to join the queue"));
    assert!(text(&anonymous).contains("$249.00"));
    assert!(text(&page(&session)).contains("Join the queue"));

    // The fifth second of the sale: the ticket the edge gives is the fifth arrival's.
    edge.host.advance(TimeDelta::seconds(5));
    let joined = edge.send(
        Request::new(Method::Post, &format!("/sale/{SALE}/join")).with_header("cookie", &session),
    );
    assert_eq!(joined.status, 303);
    let cookie = joined.header("set-cookie").unwrap().to_owned();
    assert!(cookie.starts_with(&format!("queue_{SALE}=")) && cookie.contains("HttpOnly"));
    let ticket_cookie = cookie.split(';').next().unwrap().to_owned();
    let given = ticket_cookie.split_once('=').unwrap().1;
    let key = AdmissionKey::from_secret(ADMISSION_SECRET).unwrap();
    let place = key
        .verify_ticket(given, FlashSaleId::new(SALE), UserId::new(BUYER))
        .unwrap()
        .place;
    assert_eq!(
        place,
        Place::AfterStart {
            arrived_ms: support::arrived(5)
        }
    );
    assert_eq!(
        core_calls_to(&edge, "/queue"),
        0,
        "the page's join is the edge's too"
    );
    edge.host.advance(TimeDelta::milliseconds(250));
    page(&session);
    assert_eq!(reports(&edge), vec![vec![given.to_owned()]]);
    let both = format!("{session}; {ticket_cookie}");

    let waiting = page(&both);
    assert!(
        text(&waiting).contains("buyers ahead of you"),
        "{}",
        text(&waiting)
    );
    assert!(
        text(&waiting).contains("http-equiv=\"refresh\" content=\"2\""),
        "a wait of seconds: refreshed after the shortest pause"
    );
    // A queue that checkouts pace to a crawl (six ahead at one a minute): half the wait, but
    // at most every two minutes.
    let pace = std::mem::replace(&mut edge.cursor.borrow_mut().admission_rate_per_minute, 1);
    edge.host.advance(TimeDelta::seconds(2));
    assert!(
        text(&page(&both)).contains("http-equiv=\"refresh\" content=\"120\""),
        "{}",
        text(&page(&both))
    );
    edge.cursor.borrow_mut().admission_rate_per_minute = pace;
    // Not admitted: buying only leads back to the queue.
    let early = edge.send(
        Request::new(Method::Post, &format!("/sale/{SALE}/buy")).with_header("cookie", &both),
    );
    assert_eq!(
        early.header("location"),
        Some(format!("/sale/{SALE}").as_str())
    );

    // Sold out for now: the page looks again when a held unit may come back (20 s), plus
    // the second its place in the queue takes.
    edge.host.advance(TimeDelta::seconds(2));
    let returns_at = edge.host.now() + TimeDelta::seconds(20);
    {
        let mut cursor = edge.cursor.borrow_mut();
        cursor.sold_out = true;
        cursor.unit_may_return_at = Some(returns_at);
    }
    let held = text(&page(&both));
    assert!(held.contains("Sold out for now"), "{held}");
    assert!(
        held.contains("http-equiv=\"refresh\" content=\"21\""),
        "{held}"
    );

    {
        let mut cursor = edge.cursor.borrow_mut();
        cursor.sold_out = false;
        cursor.unit_may_return_at = None;
        cursor.admitted = 10;
        support::admit_arrivals(&mut cursor, 10);
    }
    edge.host.advance(TimeDelta::seconds(2));
    assert!(text(&page(&both)).contains("Buy now for $249.00"));
    let bought = edge.send(
        Request::new(Method::Post, &format!("/sale/{SALE}/buy")).with_header("cookie", &both),
    );
    assert_eq!(bought.header("location"), Some("/checkout"));
    let admission = bought.header("set-cookie").unwrap();
    assert!(admission.starts_with("admission=fsa1.") && admission.contains("Path=/checkout"));
    let cart = edge.send(
        Request::new(Method::Get, "/api/cart")
            .with_header("authorization", &format!("Bearer {}", edge.token(BUYER))),
    );
    assert!(
        String::from_utf8_lossy(&cart.body)
            .contains(&format!("\"productId\":\"{}\"", support::PHONE))
    );
}

/// A buy-now body with an admission (the scripted core takes any).
const ADMITTED: &str = r#"{"shippingAddressId": 3, "admissionToken": "adm.signed"}"#;

fn buy_now(edge: &Edge, user: Option<i64>, body: &str) -> edgeshop_edge::Response {
    let request = Request::new(Method::Post, &format!("/api/flash-sales/{SALE}/buy"))
        .with_header("idempotency-key", "buy-1")
        .with_body(body);
    edge.send(match user {
        Some(user) => request.with_header("authorization", &format!("Bearer {}", edge.token(user))),
        None => request,
    })
}

#[test]
fn buy_now_checks_out_one_unit_of_the_sales_item_without_the_cart() {
    let edge = Edge::new();
    let answer = buy_now(&edge, Some(BUYER), ADMITTED);
    assert_eq!(
        answer.status,
        201,
        "{}",
        String::from_utf8_lossy(&answer.body)
    );

    let sent = edge
        .host
        .core_calls()
        .into_iter()
        .find(|c| c.url.ends_with("/api/checkout/initiate"))
        .expect("the checkout went to the core");
    let body: serde_json::Value = serde_json::from_slice(&sent.body).unwrap();
    assert_eq!(body["items"].as_array().map(Vec::len), Some(1));
    assert_eq!(
        body["items"][0]["productId"],
        PHONE.to_string(),
        "the sale's item"
    );
    assert_eq!(body["items"][0]["quantity"], 1);
    assert_eq!(body["admissionToken"], "adm.signed");
    assert!(body["cartId"].is_null());
    assert!(
        sent.headers
            .contains(&("idempotency-key".into(), "buy-1".into())),
        "the buyer's key goes with it"
    );
    assert!(
        edge.host.kv_keys().is_empty(),
        "no cart read into or written"
    );
}

#[test]
fn paying_for_a_buy_now_looks_for_no_cart_to_tidy() {
    let edge = Edge::new();
    let bought = buy_now(&edge, Some(BUYER), ADMITTED);
    assert_eq!(bought.status, 201);
    let paid = edge.send(
        Request::new(
            Method::Post,
            &format!("/api/checkout/{}/pay", support::CHECKOUT),
        )
        .with_header("authorization", &format!("Bearer {}", edge.token(BUYER)))
        .with_header("idempotency-key", "pay-1")
        .with_body(r#"{"paymentMethod": "CARD", "paymentToken": "tok_visa"}"#),
    );
    assert_eq!(paid.status, 200, "{}", String::from_utf8_lossy(&paid.body));
    assert_eq!(json(&paid)["paymentStatus"], "CAPTURED");
    assert_eq!(
        edge.host.kv_reads(),
        Vec::<String>::new(),
        "the core said the checkout had no cart"
    );
}

#[test]
fn buy_now_wants_a_buyer_an_admission_and_no_lines_of_the_clients() {
    let edge = Edge::new();
    let guest = buy_now(
        &edge,
        None,
        r#"{"shippingAddressId": 3, "admissionToken": "a"}"#,
    );
    assert_eq!(guest.status, 401);
    let without = buy_now(&edge, Some(BUYER), r#"{"shippingAddressId": 3}"#);
    assert_eq!(without.status, 400);
    let with_items = buy_now(
        &edge,
        Some(BUYER),
        r#"{"shippingAddressId": 3, "admissionToken": "a", "items": [{"productId": 2, "quantity": 5}]}"#,
    );
    assert_eq!(with_items.status, 400);
    assert_eq!(json(&with_items)["error"]["code"], "malformed_json");
    assert!(
        !edge
            .host
            .core_calls()
            .iter()
            .any(|c| c.url.ends_with("/api/checkout/initiate")),
        "none of them reached checkout"
    );
}

/// A buy-now body with an admission `user` really holds (signed with the sale's key).
fn signed_admission(user: i64) -> String {
    let admission = AdmissionToken {
        sale: FlashSaleId::new(SALE),
        user: UserId::new(user),
        ticket_id: uuid::Uuid::from_u128(9),
        expires_at: support::start().timestamp() + 300,
    };
    let token = AdmissionKey::from_secret(ADMISSION_SECRET)
        .unwrap()
        .sign_admission(&admission)
        .unwrap();
    format!(r#"{{"shippingAddressId": 3, "admissionToken": "{token}"}}"#)
}

fn initiate_calls(edge: &Edge) -> usize {
    core_calls_to(edge, "/api/checkout/initiate")
}

#[test]
fn a_sold_out_sale_answers_admitted_buyers_at_the_edge_from_a_fresh_cursor() {
    let edge = Edge::new();
    {
        let mut cursor = edge.cursor.borrow_mut();
        cursor.sold_out = true;
        cursor.unit_may_return_at = Some(support::start() + TimeDelta::milliseconds(7_200));
    }
    let held = buy_now(&edge, Some(BUYER), &signed_admission(BUYER));
    assert_eq!(held.status, 409, "{}", String::from_utf8_lossy(&held.body));
    let held = json(&held);
    assert_eq!(held["error"]["code"], "sold_out");
    assert_eq!(held["error"]["details"]["unitsMayReturn"], true);
    assert_eq!(
        held["error"]["details"]["retryAfterSeconds"], 8,
        "7.2 s, rounded up"
    );
    assert_eq!(initiate_calls(&edge), 0, "the core was not asked");

    // Holds that end until 40 s from now: buyers are sent back at moments spread between.
    edge.cursor.borrow_mut().last_unit_may_return_at =
        Some(support::start() + TimeDelta::seconds(40));
    edge.host.advance(TimeDelta::milliseconds(1_100));
    let told: std::collections::HashSet<u64> = (BUYER..BUYER + 20)
        .map(|buyer| {
            let held = json(&buy_now(&edge, Some(buyer), &signed_admission(buyer)));
            held["error"]["details"]["retryAfterSeconds"]
                .as_u64()
                .unwrap()
        })
        .collect();
    assert!(
        told.len() >= 8 && told.iter().all(|s| (7..=39).contains(s)),
        "{told:?}"
    );
    assert_eq!(initiate_calls(&edge), 0);

    // An admission this edge cannot verify goes on: the core tells the buyer why.
    assert_eq!(buy_now(&edge, Some(BUYER), ADMITTED).status, 201);
    assert_eq!(initiate_calls(&edge), 1);

    // Every unit paid for: nothing will come back.
    edge.cursor.borrow_mut().unit_may_return_at = None;
    edge.host.advance(TimeDelta::milliseconds(1_100));
    let gone = json(&buy_now(&edge, Some(BUYER), &signed_admission(BUYER)));
    assert_eq!(gone["error"]["code"], "sold_out");
    assert_eq!(gone["error"]["details"]["unitsMayReturn"], false);
    assert_eq!(initiate_calls(&edge), 1);
}

#[test]
fn a_checkout_goes_to_the_core_while_a_unit_is_free_or_due_back() {
    let edge = Edge::new();
    assert_eq!(
        buy_now(&edge, Some(BUYER), &signed_admission(BUYER)).status,
        201,
        "a token is free"
    );
    {
        let mut cursor = edge.cursor.borrow_mut();
        cursor.sold_out = true;
        cursor.unit_may_return_at = Some(support::start() + TimeDelta::seconds(1));
    }
    edge.host.advance(TimeDelta::milliseconds(1_100));
    assert_eq!(
        buy_now(&edge, Some(BUYER), &signed_admission(BUYER)).status,
        201,
        "the held unit was due back: the core knows whether it came"
    );
    assert_eq!(initiate_calls(&edge), 2);

    // A cursor kept past its age because the core cannot be asked is not trusted with it.
    edge.cursor.borrow_mut().unit_may_return_at = Some(support::start() + TimeDelta::seconds(60));
    edge.host.advance(TimeDelta::milliseconds(1_100));
    assert_eq!(
        buy_now(&edge, Some(BUYER), &signed_admission(BUYER)).status,
        409,
        "a fresh cursor: held"
    );
    *edge.core_up.borrow_mut() = false;
    edge.host.advance(TimeDelta::seconds(3));
    let old = buy_now(&edge, Some(BUYER), &signed_admission(BUYER));
    assert_ne!(
        json(&old)["error"]["code"],
        "sold_out",
        "{}",
        String::from_utf8_lossy(&old.body)
    );
}

fn join_request(edge: &Edge, user: i64) -> Request {
    Request::new(Method::Post, &format!("/api/flash-sales/{SALE}/queue"))
        .with_header("authorization", &format!("Bearer {}", edge.token(user)))
}

fn join(edge: &Edge, user: i64) -> serde_json::Value {
    let joined = edge.send(join_request(edge, user));
    assert_eq!(
        joined.status,
        200,
        "{}",
        String::from_utf8_lossy(&joined.body)
    );
    json(&joined)
}

/// The reports of joins the edge sent the core: the tickets of each.
fn reports(edge: &Edge) -> Vec<Vec<String>> {
    edge.host
        .background_calls()
        .iter()
        .filter(|c| c.url == format!("http://core.test/api/flash-sales/{SALE}/queue/joins"))
        .map(|c| {
            let body: serde_json::Value = serde_json::from_slice(&c.body).unwrap();
            serde_json::from_value(body["tickets"].clone()).unwrap()
        })
        .collect()
}

#[test]
fn a_join_is_answered_at_the_edge_and_reported_to_the_core_in_a_batch() {
    let edge = Edge::new();
    // Past the last arrival the core has counted (the 1,000th, at 1,000 s).
    edge.host.advance(TimeDelta::seconds(2_000));
    let now_ms = edge.host.now().timestamp_millis();
    let body = join(&edge, BUYER);
    let key = AdmissionKey::from_secret(ADMISSION_SECRET).unwrap();
    let ticket = key
        .verify_ticket(
            body["ticket"].as_str().unwrap(),
            FlashSaleId::new(SALE),
            UserId::new(BUYER),
        )
        .unwrap();
    assert_eq!(ticket.place, Place::AfterStart { arrived_ms: now_ms });
    assert_eq!(body["place"]["arrivedMs"], now_ms);
    assert_eq!(body["status"]["state"], "WAITING");
    assert_eq!(
        body["status"]["position"], 1_001,
        "behind everyone the core counted, as a poll would say"
    );
    assert_eq!(core_calls_to(&edge, "/queue"), 0, "the core gave no ticket");
    assert!(reports(&edge).is_empty(), "the report waits to fill");

    // Two more buyers join; a quarter of a second on, the next request sends the report.
    join(&edge, BUYER + 1);
    join(&edge, BUYER + 2);
    assert!(reports(&edge).is_empty());
    edge.host.advance(TimeDelta::milliseconds(250));
    poll(&edge, BUYER, body["ticket"].as_str().unwrap());
    let sent = reports(&edge);
    assert_eq!(sent.len(), 1, "one report for three joins");
    assert_eq!(sent[0].len(), 3);
    assert_eq!(sent[0][0], body["ticket"].as_str().unwrap());
    for (report, user) in sent[0].iter().zip(BUYER..) {
        key.verify_ticket(report, FlashSaleId::new(SALE), UserId::new(user))
            .unwrap();
    }

    // Joining again: the same ticket id, and no better place.
    let again = join(&edge, BUYER);
    let second = key
        .verify_ticket(
            again["ticket"].as_str().unwrap(),
            FlashSaleId::new(SALE),
            UserId::new(BUYER),
        )
        .unwrap();
    assert_eq!(second.ticket_id, ticket.ticket_id);
    assert!(matches!(second.place, Place::AfterStart { arrived_ms } if arrived_ms > now_ms));

    // Once the cursor passes the first ticket's arrival, joining answers the admission.
    {
        let mut cursor = edge.cursor.borrow_mut();
        cursor.admitted = 1_001;
        cursor.late_admitted = 1_001;
        cursor.late_admitted_until_ms = now_ms;
    }
    edge.host.advance(TimeDelta::milliseconds(1_100));
    let admitted = join(&edge, BUYER);
    assert_eq!(admitted["status"]["state"], "WAITING", "a later arrival");
    let first = poll(&edge, BUYER, body["ticket"].as_str().unwrap());
    assert_eq!(json(&first)["state"], "ADMITTED");
}

#[test]
fn a_full_report_goes_at_once_and_a_closed_sale_gives_no_ticket() {
    let edge = Edge::new();
    for user in 0..edgeshop_edge::join_reports::BATCH as i64 {
        join(&edge, 1_000 + user);
    }
    let sent = reports(&edge);
    assert_eq!(
        sent.len(),
        1,
        "full after {} joins",
        edgeshop_edge::join_reports::BATCH
    );
    assert_eq!(sent[0].len(), edgeshop_edge::join_reports::BATCH);

    edge.cursor.borrow_mut().closed = true;
    edge.host.advance(TimeDelta::milliseconds(1_100));
    let closed = edge.send(join_request(&edge, BUYER));
    assert_eq!(closed.status, 409);
    assert_eq!(json(&closed)["error"]["code"], "sale_closed");
    let anonymous = edge.send(Request::new(
        Method::Post,
        &format!("/api/flash-sales/{SALE}/queue"),
    ));
    assert_eq!(anonymous.status, 401);
}
