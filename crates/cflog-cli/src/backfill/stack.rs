//! The cflog stack's outputs that a backfill needs, read with
//! CloudFormation's DescribeStacks.

use aws_sdk_cloudformation::operation::describe_stacks::DescribeStacksError;
use cflog_pipeline::s3::RequestError;

use super::aws::Aws;

/// The function Batch Operations invokes.
pub const FUNCTION_ARN: &str = "FunctionArn";
/// The role Batch Operations runs as.
pub const ROLE_ARN: &str = "BatchOperationsRoleArn";
/// `s3://bucket/prefix/`: manifests and reports go under it.
pub const BACKFILL_PREFIX: &str = "BackfillPrefix";

/// The outputs, each when the stack has it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Outputs {
    /// `FunctionArn`.
    pub function_arn: Option<String>,
    /// `BatchOperationsRoleArn`.
    pub role_arn: Option<String>,
    /// `BackfillPrefix`.
    pub backfill_prefix: Option<String>,
}

/// Why the outputs could not be read.
#[derive(Debug, thiserror::Error)]
pub enum StackError {
    /// DescribeStacks failed (a stack that does not exist is a
    /// `ValidationError`).
    #[error(transparent)]
    Request(#[from] RequestError<DescribeStacksError>),
    /// The answer held no stack.
    #[error("stack {0}: DescribeStacks returned no stack")]
    Missing(String),
}

/// Reads the outputs of `stack`.
///
/// # Errors
///
/// See [`StackError`].
pub fn outputs(aws: &Aws, stack: &str) -> Result<Outputs, StackError> {
    let client = aws.cloudformation();
    let response = aws
        .block_on(client.describe_stacks().stack_name(stack).send())
        .map_err(|e| RequestError::new("DescribeStacks", format!("stack {stack}"), e))?;
    let found = response
        .stacks()
        .first()
        .ok_or_else(|| StackError::Missing(stack.to_owned()))?;
    let output = |name: &str| {
        found
            .outputs()
            .iter()
            .find(|output| output.output_key() == Some(name))
            .and_then(|output| output.output_value())
            .filter(|value| !value.is_empty())
            .map(str::to_owned)
    };
    Ok(Outputs {
        function_arn: output(FUNCTION_ARN),
        role_arn: output(ROLE_ARN),
        backfill_prefix: output(BACKFILL_PREFIX),
    })
}
