//! A switchable TCP proxy in front of Postgres, for database outages on demand.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};

use tokio::net::{TcpListener, TcpStream};

/// A TCP proxy in front of Postgres that a test can switch off and on, to see how the
/// service behaves while its database is unreachable.
pub struct DbProxy {
    pub addr: SocketAddr,
    mode: Arc<AtomicU8>,
    connections: Arc<std::sync::Mutex<Vec<tokio::task::JoinHandle<()>>>>,
    /// Wakes open connections when `stall()` is called.
    stalled: Arc<tokio::sync::Notify>,
}

const FORWARD: u8 = 0;
const REFUSE: u8 = 1;
const HANG: u8 = 2;
const STALL: u8 = 3;

impl DbProxy {
    pub async fn start(target: SocketAddr) -> DbProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mode = Arc::new(AtomicU8::new(FORWARD));
        let connections: Arc<std::sync::Mutex<Vec<tokio::task::JoinHandle<()>>>> = Arc::default();
        let stalled = Arc::new(tokio::sync::Notify::new());
        let (mode2, connections2, stalled2) = (mode.clone(), connections.clone(), stalled.clone());
        tokio::spawn(async move {
            loop {
                let Ok((mut inbound, _)) = listener.accept().await else {
                    return;
                };
                let mode = mode2.load(Ordering::SeqCst);
                let stalled = stalled2.clone();
                let task = tokio::spawn(async move {
                    match mode {
                        FORWARD => {
                            if let Ok(mut outbound) = TcpStream::connect(target).await {
                                let woken = stalled.notified();
                                tokio::pin!(woken);
                                woken.as_mut().enable();
                                tokio::select! {
                                    _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                                    // Stop forwarding but keep both sockets open: a
                                    // network path that silently drops every packet.
                                    () = woken => {
                                        tokio::time::sleep(std::time::Duration::from_secs(120)).await;
                                    }
                                }
                            }
                        }
                        // Accept and say nothing, like a network that swallows packets.
                        HANG | STALL => {
                            tokio::time::sleep(std::time::Duration::from_secs(120)).await;
                            drop(inbound);
                        }
                        _ => drop(inbound),
                    }
                });
                connections2.lock().unwrap().push(task);
            }
        });
        DbProxy {
            addr,
            mode,
            connections,
            stalled,
        }
    }

    fn cut_connections(&self) {
        for task in self.connections.lock().unwrap().drain(..) {
            task.abort();
        }
    }

    /// Postgres "stops": open connections are cut, new ones closed at once.
    pub fn refuse(&self) {
        self.mode.store(REFUSE, Ordering::SeqCst);
        self.cut_connections();
    }

    /// Postgres "hangs": connections are cut, new ones accepted and never answered.
    pub fn hang(&self) {
        self.mode.store(HANG, Ordering::SeqCst);
        self.cut_connections();
    }

    /// The network path "black-holes": open connections stay open but nothing passes
    /// either way any more (no FIN, no RST), and new ones are accepted and never answered.
    pub fn stall(&self) {
        self.mode.store(STALL, Ordering::SeqCst);
        self.stalled.notify_waiters();
    }

    /// New connections are forwarded again. Connections stalled before stay dead but
    /// open (as flows through a failed-over NAT or load balancer do).
    pub fn forward(&self) {
        self.mode.store(FORWARD, Ordering::SeqCst);
    }

    /// `url` with its host and port replaced by the proxy's.
    pub fn url_for(&self, url: &str) -> String {
        let mut url = url::Url::parse(url).unwrap();
        url.set_host(Some("127.0.0.1")).unwrap();
        url.set_port(Some(self.addr.port())).unwrap();
        url.to_string()
    }
}
