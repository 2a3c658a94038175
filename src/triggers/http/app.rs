//! The service every connection gets: built-in endpoints go through axum's router, every other
//! request straight to the hub's routes, which skips the router's matching, its fallback and
//! the per-request connection-info extension (together about a tenth of the instructions of a
//! trivial request).

use super::early::JsonListener;
use super::{AppState, dispatch, reply};
use axum::Router;
use axum::extract::{ConnectInfo, Request};
use axum::response::Response;
use axum::serve::IncomingStream;
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use tower_service::Service;

/// Makes an [`App`] for each accepted connection.
#[derive(Clone)]
pub struct MakeApp {
    pub router: Router,
    pub state: AppState,
}

impl Service<IncomingStream<'_, JsonListener>> for MakeApp {
    type Response = App;
    type Error = Infallible;
    type Future = std::future::Ready<Result<App, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, stream: IncomingStream<'_, JsonListener>) -> Self::Future {
        let (router, state, peer) = (self.router.clone(), self.state.clone(), *stream.remote_addr());
        std::future::ready(Ok(App { router, state, peer }))
    }
}

/// One connection's service.
#[derive(Clone)]
pub struct App {
    router: Router,
    state: AppState,
    peer: SocketAddr,
}

/// Paths the router answers itself (an unknown `/_/...` path goes on to the hub's routes from
/// there, as any path the router does not know).
fn built_in(path: &str) -> bool {
    crate::config::reserved_path(path)
}

impl Service<Request> for App {
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, mut request: Request) -> Self::Future {
        if built_in(request.uri().path()) {
            request.extensions_mut().insert(ConnectInfo(self.peer));
            // Shaped here, around the whole router, so a 405 already has its `Allow` header.
            let answer = self.router.call(request);
            return Box::pin(async move { Ok(reply::json_errors(answer.await?).await) });
        }
        let (state, peer) = (self.state.clone(), self.peer);
        Box::pin(async move { Ok(dispatch::handle(&state, peer, request).await) })
    }
}
