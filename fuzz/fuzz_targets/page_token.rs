//! `list`'s page tokens (`ListCursor`) and the checks of a `list` call. The input is read
//! three ways:
//! - as a token: `decode` may refuse it; a cursor it accepts encodes to a token that
//!   decodes to the same cursor;
//! - as a token's content (the JSON inside the base64): the same property, reached
//!   without the fuzzer having to find base64 of JSON first;
//! - as `arbitrary` bytes for a cursor (any time, user and session id), which must
//!   round-trip through `encode` and `decode`, and for the arguments of
//!   `check_list_request` (ids, page size, token), which must never panic and must accept
//!   exactly the tokens `decode` accepts.

#![no_main]

use adk_sessions::backend::{check_list_request, ListCursor};
use adk_sessions::PageRequest;
use arbitrary::Unstructured;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use libfuzzer_sys::fuzz_target;

fn round_trips(cursor: &ListCursor) {
    let token = cursor.encode();
    assert_eq!(
        ListCursor::decode(&token).ok().as_ref(),
        Some(cursor),
        "token {token:?} of {cursor:?}"
    );
}

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(cursor) = ListCursor::decode(text) {
            round_trips(&cursor);
        }
    }
    if let Ok(cursor) = ListCursor::decode(&URL_SAFE_NO_PAD.encode(data)) {
        round_trips(&cursor);
    }

    let mut u = Unstructured::new(data);
    let (Ok(t), Ok(user), Ok(session)) = (
        u.arbitrary::<i64>(),
        u.arbitrary::<String>(),
        u.arbitrary::<String>(),
    ) else {
        return;
    };
    round_trips(&ListCursor {
        t,
        u: user,
        s: session,
    });

    let (Ok(app), Ok(user), Ok(page_size), Ok(token)) = (
        u.arbitrary::<String>(),
        u.arbitrary::<Option<String>>(),
        u.arbitrary::<Option<usize>>(),
        u.arbitrary::<Option<String>>(),
    ) else {
        return;
    };
    let mut page = PageRequest::all();
    page.page_size = page_size;
    page.page_token = token.clone();
    let checked = check_list_request(&app, user.as_deref(), &page);
    let ids_ok = adk_sessions::backend::check_id("app_name", &app).is_ok()
        && user
            .as_deref()
            .is_none_or(|u| adk_sessions::backend::check_id("user_id", u).is_ok())
        && page_size != Some(0);
    match (&checked, ids_ok, token.as_deref().map(ListCursor::decode)) {
        (Ok(after), true, None) => assert_eq!(after, &None),
        (Ok(after), true, Some(Ok(cursor))) => assert_eq!(after.as_ref(), Some(&cursor)),
        (Err(_), true, Some(Err(_))) | (Err(_), false, _) => {}
        _ => panic!("check_list_request({app:?}, {user:?}, {page:?}) = {checked:?}"),
    }
});
