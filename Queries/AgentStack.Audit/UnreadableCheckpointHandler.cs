using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;

namespace AgentStack.Audit;

/// <summary>
/// Answers a request that met a stored checkpoint or stream head that does not read (<see cref="UnreadableCheckpointException"/>)
/// with a problem naming the table, column and value, instead of the anonymous 500 of an unexpected error: the
/// checkpoint list, one checkpoint, signing one, the proofs and the export all need the stored checkpoints, and
/// an operator must see which row was changed. Verification does not come here: it reports a
/// <c>checkpoint-unreadable</c> break and checks the chains (docs/audit.md).
/// </summary>
public sealed class UnreadableCheckpointHandler(IProblemDetailsService problems) : IExceptionHandler
{
    public const string Title = "A stored audit checkpoint does not read as the server wrote it";

    public async ValueTask<bool> TryHandleAsync(HttpContext http, Exception exception, CancellationToken ct)
    {
        if (exception is not UnreadableCheckpointException unreadable)
            return false;
        http.Response.StatusCode = StatusCodes.Status500InternalServerError;
        return await problems.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = http,
            Exception = exception,
            ProblemDetails = new ProblemDetails
            {
                Status = StatusCodes.Status500InternalServerError,
                Title = Title,
                Detail = unreadable.Message,
            },
        });
    }
}
