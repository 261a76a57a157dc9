//! The running server, composed in one place: HTTP, the background poller (unless
//! `SYNDIC_POLLER=off`), WebSub deliveries, retention and, on PostgreSQL, the listener that
//! hears other instances' writes — started together, stopped by one signal. `syndic serve`
//! runs it until SIGTERM; the integration tests run this very composition on an ephemeral
//! loopback port, so what they test is what users run.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::config::{Config, base_url_for};
use crate::http::{self, AppState};
use crate::poll::poller::Poller;
use crate::store::DynStore;
use crate::websub::{self, Hub};

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot build the HTTP client of the poller or of the WebSub hub: {0}")]
    Client(#[from] reqwest::Error),
    #[error("cannot read the address the server listens on: {0}")]
    Listener(#[from] std::io::Error),
}

/// A server that runs: its parts stop when [`Server::stop`] is called (or the server is
/// dropped: the HTTP side then finishes its requests in flight).
pub struct Server {
    /// The address really bound (port 0 picks one).
    pub addr: SocketAddr,
    /// The public URL feeds and self links are built from.
    pub base_url: String,
    poller: Arc<Poller>,
    stop: watch::Sender<bool>,
    http: JoinHandle<std::io::Result<()>>,
    workers: Vec<JoinHandle<()>>,
}

impl Server {
    /// Starts every part on `listener`. `config.bind` becomes the address really bound, and
    /// the base URL is derived from it unless `SYNDIC_BASE_URL` was set: the poller recognises
    /// this instance's own feeds by them.
    pub async fn start(
        store: DynStore,
        mut config: Config,
        listener: TcpListener,
    ) -> Result<Server, StartError> {
        let addr = listener.local_addr()?;
        config.bind = addr;
        if config.base_url_from_bind {
            config.base_url = base_url_for(addr);
        }
        let poller = Poller::new(store.clone(), &config)?;
        let hub = Hub::new(store.clone(), &config)?;
        let (stop, stopped) = watch::channel(false);
        let mut workers = Vec::new();
        if config.poller {
            workers.push(tokio::spawn(poller.clone().run(stopped.clone())));
        } else {
            tracing::info!("SYNDIC_POLLER is off: subscriptions are polled only when asked");
        }
        workers.push(tokio::spawn(websub::run_deliveries(
            hub.clone(),
            stopped.clone(),
        )));
        // On PostgreSQL, other instances' writes reach this one's feeds and deliveries at once.
        workers.push({
            let (store, stopped) = (store.clone(), stopped.clone());
            tokio::spawn(async move {
                let heard = |n: u64| {
                    crate::metrics::METRICS.change_notifications.inc_by(n);
                };
                store.listen(stopped, &heard).await
            })
        });
        workers.push(tokio::spawn(crate::retention::run(
            store.clone(),
            stopped.clone(),
        )));
        let mut on_stop = stopped;
        let signal = async move {
            let _ = on_stop.wait_for(|s| *s).await;
        };
        let base_url = config.base_url.clone();
        let state = AppState::new(store, config, poller.clone(), hub);
        let http = tokio::spawn(http::serve(listener, state, signal));
        Ok(Server {
            addr,
            base_url,
            poller,
            stop,
            http,
            workers,
        })
    }

    /// The poller of this server (the one `POST …/poll` uses).
    pub fn poller(&self) -> &Arc<Poller> {
        &self.poller
    }

    /// Serves until `shutdown` resolves, then stops every part as [`Server::stop`] does.
    pub async fn run_until(self, shutdown: impl Future<Output = ()>) -> std::io::Result<()> {
        shutdown.await;
        self.stop().await
    }

    /// Stops every part and waits for them: HTTP finishes its requests in flight (within its
    /// drain timeout), the poller its round, deliveries record what they sent.
    pub async fn stop(self) -> std::io::Result<()> {
        let _ = self.stop.send(true);
        let served = match self.http.await {
            Ok(served) => served,
            Err(e) => Err(std::io::Error::other(e)),
        };
        for worker in self.workers {
            let _ = worker.await;
        }
        served
    }
}
