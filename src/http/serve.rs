//! Serving connections: the accept loop, the connection threads, and what answers each
//! request.
//!
//! Connections are accepted on the main runtime, where the cap on connections is kept, and
//! handed to one thread per core (the one with the fewest connections), each running a
//! current-thread runtime that serves its connections from first byte to last. A feed that
//! memory can answer is answered on that thread, without waking another one (the per-request
//! cost that tokio's work-stealing added: workers waking each other to steal tasks, counts
//! and reference counts bouncing between the cores). Every other request is run by the router
//! on the main runtime, where the database pools, the poller and the background tasks live,
//! and its answer comes back to the connection's thread; if the connection goes away first,
//! the request's task is aborted there, as it would have been dropped before.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::response::IntoResponse;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc, oneshot, watch};
use tokio_util::task::AbortOnDropHandle;
use tower_http::trace::{DefaultMakeSpan, DefaultOnResponse};
use tracing::{Instrument, Level};

use super::{ApiError, AppState, MAX_HEAD_BYTES, conn, count, feeds, router};

/// How long a client may take to send its request line and headers: past it the connection
/// is closed, so slow clients (slowloris) cannot hold connections open.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// How long requests in flight may take to finish after a shutdown signal.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);

/// The span and the log lines of every request (`tower_http` at INFO: the request, its
/// status and latency).
type Traced<S> = tower_http::trace::Trace<
    S,
    tower_http::classify::SharedClassifier<tower_http::classify::ServerErrorsAsFailures>,
    DefaultMakeSpan,
    tower_http::trace::DefaultOnRequest,
    DefaultOnResponse,
>;

fn traced<S>(inner: S) -> Traced<S> {
    tower_http::trace::Trace::new_for_http(inner)
        .make_span_with(DefaultMakeSpan::new().level(Level::INFO))
        .on_response(DefaultOnResponse::new().level(Level::INFO))
}

/// Records a feed answered by [`Front`] as [`count`] would, through handles on its series
/// kept after first use: the same series, without building labels and looking them up on
/// every request.
fn count_feed(status: axum::http::StatusCode, started: Instant) {
    use prometheus_client::metrics::{counter::Counter, histogram::Histogram};
    use std::sync::OnceLock;
    static OK: OnceLock<Counter> = OnceLock::new();
    static NOT_MODIFIED: OnceLock<Counter> = OnceLock::new();
    static SECONDS: OnceLock<Histogram> = OnceLock::new();
    let cell = match status {
        axum::http::StatusCode::OK => &OK,
        axum::http::StatusCode::NOT_MODIFIED => &NOT_MODIFIED,
        _ => return count("GET", FEED_ROUTE.to_owned(), status, started),
    };
    let m = &crate::metrics::METRICS;
    cell.get_or_init(|| {
        m.requests
            .get_or_create(&crate::metrics::RouteLabels {
                method: "GET".to_owned(),
                route: FEED_ROUTE.to_owned(),
                status: status.as_u16(),
            })
            .clone()
    })
    .inc();
    SECONDS
        .get_or_init(|| {
            m.request_seconds
                .get_or_create(&crate::metrics::RouteOnly {
                    route: FEED_ROUTE.to_owned(),
                })
                .clone()
        })
        .observe(started.elapsed().as_secs_f64());
}

/// What serves one connection's requests: a feed that memory can answer is answered here
/// ([`feeds::from_memory`]) without the router and its per-request layers (routing, the
/// body limit, the deadline timer, the head limits: none of them can act on a request
/// answered without waiting); everything else goes to the router. Either way the request is
/// traced, counted in the metrics under its route, marks its connection busy, and its
/// response says `nosniff`, as the router's layers do.
#[derive(Clone)]
struct Front {
    /// What every request of this connection thread needs, behind one reference count of
    /// the thread's own: hyper clones the service for every request, and seven reference
    /// counts shared by every thread bounced between the cores on each clone.
    shared: Arc<Shared>,
    activity: Arc<conn::Activity>,
    addr: std::net::SocketAddr,
}

/// The route template feeds are counted under, as the router names it.
const FEED_ROUTE: &str = "/feeds/{slug}/{file}";

impl<B> tower_service::Service<axum::http::Request<B>> for Front
where
    B: axum::body::HttpBody<Data = bytes::Bytes> + Send + 'static,
    B::Error: Into<axum::BoxError>,
{
    type Response = axum::response::Response;
    type Error = std::convert::Infallible;
    type Future = FrontFuture;

    fn poll_ready(
        &mut self,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, mut req: axum::http::Request<B>) -> FrontFuture {
        let started = Instant::now();
        if let Some(mut resp) = feeds::from_memory(&self.shared.state, &req) {
            // Answered at once: the request was in flight for no time, but it counts as
            // activity on its connection.
            drop(self.activity.begin());
            resp.headers_mut().insert(
                axum::http::header::X_CONTENT_TYPE_OPTIONS,
                axum::http::HeaderValue::from_static("nosniff"),
            );
            count_feed(resp.status(), started);
            return FrontFuture::Ready(Some(resp));
        }
        let ext = req.extensions_mut();
        ext.insert(axum::extract::ConnectInfo(self.addr));
        ext.insert(self.activity.clone());
        // `call` runs inside the request's span (see `traced`): the router's work on the main
        // runtime stays in it.
        let routed = tower_service::Service::call(&mut self.shared.app.clone(), req)
            .instrument(tracing::Span::current());
        FrontFuture::Routed(AbortOnDropHandle::new(self.shared.main.spawn(routed)))
    }
}

/// [`Front`]'s answer: ready at once, or the router's, running on the main runtime.
enum FrontFuture {
    Ready(Option<axum::response::Response>),
    Routed(AbortOnDropHandle<Result<axum::response::Response, std::convert::Infallible>>),
}

impl Future for FrontFuture {
    type Output = Result<axum::response::Response, std::convert::Infallible>;

    fn poll(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Self::Output> {
        match self.get_mut() {
            FrontFuture::Ready(resp) => {
                std::task::Poll::Ready(Ok(resp.take().expect("polled after completion")))
            }
            FrontFuture::Routed(task) => match std::pin::Pin::new(task).poll(cx) {
                std::task::Poll::Pending => std::task::Poll::Pending,
                std::task::Poll::Ready(Ok(answer)) => std::task::Poll::Ready(answer),
                // A handler that panicked ends its connection, as it did when it ran on the
                // connection's own task.
                std::task::Poll::Ready(Err(e)) if e.is_panic() => {
                    std::panic::resume_unwind(e.into_panic())
                }
                // The main runtime is shutting down.
                std::task::Poll::Ready(Err(_)) => std::task::Poll::Ready(Ok(
                    ApiError::Unavailable("the server is shutting down".into()).into_response(),
                )),
            },
        }
    }
}

/// A connection accepted, on its way to the thread that serves it.
struct Accepted {
    stream: std::net::TcpStream,
    addr: SocketAddr,
    /// Its place under `SYNDIC_MAX_CONNECTIONS`, given back when it closes.
    slot: OwnedSemaphorePermit,
    /// Tells it to finish when the server stops.
    watcher: Watcher,
    /// Counts it on its thread until it closes.
    open: OpenGuard,
}

/// One connection thread, as the accept loop sees it.
struct ConnThread {
    accepted: mpsc::UnboundedSender<Accepted>,
    /// Connections it serves now.
    open: Arc<AtomicUsize>,
    /// Fires when the thread has ended.
    done: oneshot::Receiver<()>,
}

/// What every connection thread needs.
#[derive(Clone)]
struct Shared {
    app: Router,
    state: AppState,
    main: tokio::runtime::Handle,
}

/// How many connection threads to run: one per core the process may use.
fn thread_count() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Serves until `shutdown` resolves, then finishes the requests in flight (for at most
/// [`DRAIN_TIMEOUT`]). Connections are served by hyper directly so that header reading has a
/// deadline and a size cap; each request carries its client's address (`ConnectInfo`). At
/// most `SYNDIC_MAX_CONNECTIONS` are served at once (one more is answered 503 and closed),
/// and one idle for `SYNDIC_IDLE_TIMEOUT` is closed.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let slots = Arc::new(Semaphore::new(state.config.max_connections));
    let shared = Shared {
        app: router(state.clone()),
        state,
        main: tokio::runtime::Handle::current(),
    };
    // Tells the connection threads to end, once the connections have drained.
    let (stop, stopped) = watch::channel(false);
    let mut threads = Vec::new();
    for n in 0..thread_count() {
        threads.push(conn_thread(n, shared.clone(), stopped.clone())?);
    }
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, addr) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(conn) => conn,
                Err(e) => {
                    // Out of file descriptors and the like: wait a little, keep serving.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            // Best effort: the socket buffer is empty, so this small write does not block.
            let _ = stream.try_write(conn::BUSY_RESPONSE);
            tracing::debug!(%addr, "connection refused: SYNDIC_MAX_CONNECTIONS reached");
            continue;
        };
        // A response's last segment goes out at once rather than waiting for the client to
        // acknowledge the ones before it (Nagle), as nginx's `tcp_nodelay on`.
        if let Err(e) = stream.set_nodelay(true) {
            tracing::debug!(error = %e, %addr, "TCP_NODELAY not set");
        }
        let stream = match stream.into_std() {
            Ok(stream) => stream,
            Err(e) => {
                tracing::debug!(error = %e, %addr, "connection dropped");
                continue;
            }
        };
        // Counted on its thread from now, not from when the thread takes it: a burst of
        // connections (a client opening 64 at once) is spread instead of all going to the
        // thread that looked emptiest before the burst.
        let least = threads
            .iter()
            .min_by_key(|t| t.open.load(Ordering::Relaxed))
            .expect("at least one connection thread");
        let accepted = Accepted {
            stream,
            addr,
            slot,
            watcher: graceful.watcher(),
            open: OpenGuard::new(least.open.clone()),
        };
        if least.accepted.send(accepted).is_err() {
            tracing::error!(%addr, "a connection thread has ended: connection dropped");
        }
    }
    drop(listener);
    // No more connections (their senders dropped here): each thread finishes those it has.
    let done: Vec<_> = threads.into_iter().map(|t| t.done).collect();
    if tokio::time::timeout(DRAIN_TIMEOUT, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("requests still in flight after the drain timeout: closing");
    }
    let _ = stop.send(true);
    for thread in done {
        let _ = thread.await;
    }
    Ok(())
}

/// Starts connection thread `n`: a current-thread runtime serving the connections the
/// accept loop sends it, until `stopped` says so (connections still open then are closed).
fn conn_thread(
    n: usize,
    shared: Shared,
    mut stopped: watch::Receiver<bool>,
) -> std::io::Result<ConnThread> {
    let (accepted, mut incoming) = mpsc::unbounded_channel::<Accepted>();
    let (done_tx, done) = oneshot::channel();
    let open = Arc::new(AtomicUsize::new(0));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    std::thread::Builder::new()
        .name(format!("syndic-http-{n}"))
        .spawn(move || {
            let shared = Arc::new(shared);
            runtime.block_on(async move {
                let builder = connection_builder(shared.state.config.idle_timeout);
                loop {
                    tokio::select! {
                        next = incoming.recv() => match next {
                            Some(c) => serve_connection(&builder, &shared, c),
                            None => break,
                        },
                        _ = stopped.wait_for(|s| *s) => return,
                    }
                }
                let _ = stopped.wait_for(|s| *s).await;
            });
            // Dropping the runtime closes the connections still open.
            drop(runtime);
            let _ = done_tx.send(());
        })?;
    Ok(ConnThread {
        accepted,
        open,
        done,
    })
}

/// How hyper serves a connection: headers read within a deadline and under a size cap;
/// HTTP/2 peers pinged so that one that vanished with a stream open is found.
fn connection_builder(idle: Duration) -> Builder<TokioExecutor> {
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT)
        .max_buf_size(MAX_HEAD_BYTES);
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(Some(idle))
        .keep_alive_timeout(HEADER_READ_TIMEOUT)
        .max_header_list_size(MAX_HEAD_BYTES as u32);
    builder
}

/// Serves one connection on the current (connection thread's) runtime until it ends, its
/// peer is idle for `SYNDIC_IDLE_TIMEOUT`, or the server stops.
fn serve_connection(builder: &Builder<TokioExecutor>, shared: &Arc<Shared>, c: Accepted) {
    let Accepted {
        stream,
        addr,
        slot,
        watcher,
        open,
    } = c;
    let stream = match tokio::net::TcpStream::from_std(stream) {
        Ok(stream) => stream,
        Err(e) => {
            tracing::debug!(error = %e, %addr, "connection dropped");
            return;
        }
    };
    let idle = shared.state.config.idle_timeout;
    let activity = conn::Activity::new();
    let service = traced(Front {
        shared: shared.clone(),
        activity: activity.clone(),
        addr,
    });
    let io = TokioIo::new(conn::TrackedIo::new(stream, activity.clone()));
    let conn = builder
        .serve_connection_with_upgrades(io, TowerToHyperService::new(service))
        .into_owned();
    let conn = watcher.watch(conn);
    tokio::spawn(async move {
        let _slot = slot;
        let _open = open;
        let mut conn = std::pin::pin!(conn);
        let mut check = activity.idle_at(idle);
        loop {
            tokio::select! {
                done = &mut conn => {
                    if let Err(e) = done {
                        tracing::debug!(error = %e, %addr, "connection ended with an error");
                    }
                    break;
                }
                () = tokio::time::sleep_until(check.into()) => {
                    if activity.is_idle(idle) {
                        tracing::debug!(%addr, "idle connection closed");
                        break;
                    }
                    check = activity.next_check(idle);
                }
            }
        }
    });
}

/// Counts a connection on its thread while it is open.
struct OpenGuard(Arc<AtomicUsize>);

impl OpenGuard {
    fn new(open: Arc<AtomicUsize>) -> OpenGuard {
        open.fetch_add(1, Ordering::Relaxed);
        OpenGuard(open)
    }
}

impl Drop for OpenGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}
