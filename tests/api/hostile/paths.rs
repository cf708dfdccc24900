//! Paths that try to leave the caller's folder in storage.

use uuid::Uuid;

use crate::helpers::{TestApp, deleted_count};
use crate::raw_http::raw;

#[tokio::test]
async fn path_traversal_never_leaves_the_callers_folder() {
    let app = TestApp::builder().auth().storage().spawn().await;
    let storage = app.storage();
    let (user, token) = app.sign_up_and_in().await;
    let victim = Uuid::new_v4();
    for folder in [user, victim] {
        std::fs::create_dir_all(storage.root.join(format!("user-uploads/{folder}"))).unwrap();
        std::fs::write(
            storage
                .root
                .join(format!("user-uploads/{folder}/photo.jpg")),
            b"\xff\xd8\xff",
        )
        .unwrap();
    }
    for path in [
        format!("{user}/../{victim}/photo.jpg"),
        format!("{user}/%2e%2e/{victim}/photo.jpg"),
        format!("{user}/%2E%2E%2F{victim}%2Fphoto.jpg"),
        format!("{user}%2F..%2F{victim}%2Fphoto.jpg"),
        format!("{user}/./photo.jpg"),
        format!("{user}//photo.jpg"),
        format!("{user}/..\\{victim}\\photo.jpg"),
        format!("{user}/..%5C{victim}%5Cphoto.jpg"),
        format!("{user}/photo.jpg%00.png"),
        format!("{user}/"),
        format!("{user}"),
        format!("/{victim}/photo.jpg"),
        format!("{victim}/photo.jpg"),
        format!("{user}x/photo.jpg"),
        "../../etc/passwd".to_owned(),
        "%2e%2e%2f%2e%2e%2fetc%2fpasswd".to_owned(),
    ] {
        // Sent as raw bytes: an HTTP client would normalise the dot segments away.
        let answer = raw(
            &app,
            format!(
                "DELETE /api/v1/media/delete/{path} HTTP/1.1\r\nHost: x\r\n\
                 Authorization: Bearer {token}\r\n\r\n"
            )
            .as_bytes(),
        )
        .await;
        assert_eq!(answer.status, 403, "{path}");
        answer.assert_envelope(403, "forbidden");
    }
    assert!(storage.object_exists("user-uploads", &format!("{victim}/photo.jpg")));
    assert!(storage.object_exists("user-uploads", &format!("{user}/photo.jpg")));
    // The caller's own file, named plainly, is deleted.
    let response = app.delete_media(&token, &format!("{user}/photo.jpg")).await;
    deleted_count(response).await;
    assert!(!storage.object_exists("user-uploads", &format!("{user}/photo.jpg")));
    assert!(storage.object_exists("user-uploads", &format!("{victim}/photo.jpg")));
}
