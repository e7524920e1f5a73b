//! Where a rollup near its deadline hands the hours left on
//! ([`rollup`](crate::rollup)): the function itself, invoked
//! asynchronously. Apart from the rollup, so that the [`Handler`](crate::Handler)
//! that holds one and the rollup that calls it both build on it.

use std::future::Future;
use std::pin::Pin;

use crate::event::RollupEvent;

/// The future of a [`Handover`].
pub type HandoverFuture<'a> =
    Pin<Box<dyn Future<Output = Result<(), Box<dyn std::error::Error + Send + Sync>>> + Send + 'a>>;

/// Where a rollup near its deadline hands the rest on: the function
/// itself, invoked asynchronously ([`LambdaHandover`]).
pub trait Handover: Send + Sync {
    /// Queues an invocation of the function with `event`'s payload
    /// ([`RollupEvent::payload`]); done once it is queued, not run.
    fn hand_over<'a>(&'a self, event: &'a RollupEvent) -> HandoverFuture<'a>;
}

/// The function invoking itself: Lambda's `Invoke` with
/// `InvocationType=Event` (the role needs `lambda:InvokeFunction` on the
/// function). Lambda retries a failed asynchronous invocation twice.
#[derive(Clone, Debug)]
pub struct LambdaHandover {
    client: aws_sdk_lambda::Client,
    function: String,
}

impl LambdaHandover {
    /// Invocations of `function` (its name or ARN; the function's own is
    /// `AWS_LAMBDA_FUNCTION_NAME`) with `client`.
    pub fn new(client: aws_sdk_lambda::Client, function: impl Into<String>) -> LambdaHandover {
        LambdaHandover {
            client,
            function: function.into(),
        }
    }
}

impl Handover for LambdaHandover {
    fn hand_over<'a>(&'a self, event: &'a RollupEvent) -> HandoverFuture<'a> {
        Box::pin(async move {
            let payload = serde_json::to_vec(&event.payload())?;
            self.client
                .invoke()
                .function_name(&self.function)
                .invocation_type(aws_sdk_lambda::types::InvocationType::Event)
                .payload(aws_sdk_lambda::primitives::Blob::new(payload))
                .send()
                .await
                .map_err(|e| aws_sdk_lambda::error::DisplayErrorContext(e).to_string())?;
            Ok(())
        })
    }
}
