"""Swapwire's Python SDK.

swapwire.client and swapwire.aio call a Swapwire server (sync and asyncio);
swapwire.worker serves a Python model to one (python3 -m swapwire.worker
--model module:Class); swapwire.v1, swapwire.worker.v1 and swapwire.rekcurd
are the generated protocol stubs.
"""

__version__ = "0.1.0"
