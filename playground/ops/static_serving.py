"""WhiteNoise as an async-capable middleware.

WhiteNoise's own middleware is sync-only. One sync-only middleware near the top of the chain
makes Django run the whole chain, and every view under it, in the single thread that Django
keeps for sync code (``thread_sensitive``): an async view then holds that thread while it waits,
and every page queues behind any slow request. This subclass answers the same files the same
way, opening them off the event loop, and passes everything else on without a thread hop.
"""

from __future__ import annotations

from asgiref.sync import iscoroutinefunction, markcoroutinefunction, sync_to_async
from whitenoise.middleware import WhiteNoiseMiddleware

READ_BYTES = 256 * 1024


async def _pieces(file):
    read = sync_to_async(file.read, thread_sensitive=False)
    while piece := await read(READ_BYTES):
        yield piece


class AsyncWhiteNoiseMiddleware(WhiteNoiseMiddleware):
    sync_capable = True
    async_capable = True

    def __init__(self, get_response=None, **kwargs):
        super().__init__(get_response, **kwargs)
        self._is_async = iscoroutinefunction(get_response)
        if self._is_async:
            markcoroutinefunction(self)

    def __call__(self, request):
        if self._is_async:
            return self._acall(request)
        return super().__call__(request)

    async def _acall(self, request):
        static_file = self._static_file_for(request.path_info)
        if static_file is None:
            return await self.get_response(request)
        response = await sync_to_async(self.serve, thread_sensitive=False)(static_file, request)
        if getattr(response, "file_to_stream", None) is not None:
            # read in a worker thread, piece by piece (a sync iterator would be read whole, in
            # Django's one sync thread)
            response.streaming_content = _pieces(response.file_to_stream)
        return response

    def _static_file_for(self, path: str):
        if self.autorefresh:
            return self.find_file(path)  # embedded mode: a look at the finders, small and rare
        return self.files.get(path)
