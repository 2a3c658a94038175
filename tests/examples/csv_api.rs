//! The `examples/csv-api` hub end to end.

use crate::harness::{Hub, Server};
use serde_json::{Value, json};

/// The `id`s of the rows on a page.
fn ids(page: &Value) -> Vec<i64> {
    page["data"].as_array().unwrap().iter().map(|row| row["id"].as_i64().unwrap()).collect()
}

/// `GET path` that must answer 200 with JSON.
fn get(server: &Server, path: &str) -> Value {
    let reply = server.get(path, &[]);
    assert_eq!(reply.status, 200, "GET {path}: {}", reply.text);
    reply.json()
}

#[test]
fn the_csv_file_is_served_as_typed_json_in_pages_with_filters_and_a_clear_error_when_it_is_gone() {
    let hub = Hub::from_example("csv-api");
    let server = hub.serve();

    // Defaults: page 1 of 20 rows holds the whole file, with its numbers as numbers.
    let all = get(&server, "/data");
    assert_eq!(
        (&all["page"], &all["per_page"], &all["total"], &all["pages"]),
        (&json!(1), &json!(20), &json!(12), &json!(1))
    );
    assert_eq!(ids(&all), (1..=12).collect::<Vec<_>>());
    assert_eq!(
        all["data"][9],
        json!({ "id": 10, "name": "Cutting board, oak", "category": "kitchen", "price": 24.0, "stock": 11 })
    );

    // Paging: 12 rows in pages of 5 are 5 + 5 + 2; past the end is an empty page, not an error.
    let third = get(&server, "/data?per_page=5&page=3");
    assert_eq!((&third["total"], &third["pages"]), (&json!(12), &json!(3)));
    assert_eq!(ids(&third), [11, 12]);
    assert_eq!(ids(&get(&server, "/data?per_page=5&page=2")), [6, 7, 8, 9, 10]);
    let beyond = get(&server, "/data?per_page=5&page=4");
    assert_eq!((ids(&beyond), &beyond["total"]), (vec![], &json!(12)));

    // Filters apply before paging, ignore case, and combine; `total` counts the matches.
    let tools = get(&server, "/data?category=TOOLS&per_page=2&page=2");
    assert_eq!((ids(&tools), &tools["total"], &tools["pages"]), (vec![3, 4], &json!(5), &json!(3)));
    assert_eq!(ids(&get(&server, "/data?q=Hammer")), [1, 11]);
    assert_eq!(ids(&get(&server, "/data?q=hammer&category=tools&per_page=1&page=2")), [11]);
    let none = get(&server, "/data?category=toys");
    assert_eq!((ids(&none), &none["total"], &none["pages"]), (vec![], &json!(0), &json!(0)));

    // Bad paging is the caller's mistake: 400 with what is wrong.
    let not_a_number = server.get("/data?page=abc", &[]);
    assert_eq!(not_a_number.status, 400, "{}", not_a_number.text);
    assert!(
        not_a_number.text.contains("page") && not_a_number.text.contains("`abc` is not an integer"),
        "{}",
        not_a_number.text
    );
    let zero = server.get("/data?page=0", &[]);
    assert_eq!((zero.status, zero.json()), (400, json!({ "error": "page must be 1 or more" })));
    let too_many = server.get("/data?per_page=500", &[]);
    assert_eq!((too_many.status, too_many.json()), (400, json!({ "error": "per_page must be between 1 and 100" })));

    // The file is read on every request: without it the answer is a 500 that says why.
    std::fs::remove_file(hub.path().join("files/products.csv")).unwrap();
    let missing = server.get("/data", &[]);
    assert_eq!(missing.status, 500, "{}", missing.text);
    assert_eq!(missing.json()["error"], "the data file files/products.csv is missing");
}
