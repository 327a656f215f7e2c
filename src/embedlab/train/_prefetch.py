"""A numba intrinsic that asks the CPU to load a cache line ahead of use (llvm.prefetch),
used by the graph kernels to fetch the next pair's rows while the current one trains."""

from __future__ import annotations

from typing import Any

from llvmlite import ir  # type: ignore[import-untyped]
from llvmlite.binding import llvm_version_info  # type: ignore[import-untyped]
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

__all__ = ["prefetch"]

# LLVM 17+ has only opaque pointers ("p0"); older LLVM (numba 0.60's) mangles "p0i8".
_PREFETCH_NAME = "llvm.prefetch.p0" if llvm_version_info[0] >= 17 else "llvm.prefetch.p0i8"


def _prefetch_typer(typingctx: Any, matrix: Any, row: Any, col: Any) -> Any:
    """Hint the CPU to load the cache line holding ``matrix[row, col]`` (llvm.prefetch)."""
    signature = types.void(matrix, row, col)

    def codegen(context: Any, builder: Any, sig: Any, args: Any) -> Any:
        array_type = sig.args[0]
        array = context.make_array(array_type)(context, builder, args[0])
        r = context.cast(builder, args[1], sig.args[1], types.intp)
        c = context.cast(builder, args[2], sig.args[2], types.intp)
        ptr = cgutils.get_item_pointer(  # type: ignore[no-untyped-call]
            context, builder, array_type, array, [r, c]
        )
        byte_ptr = ir.IntType(8).as_pointer()
        i32 = ir.IntType(32)
        fn_type = ir.FunctionType(ir.VoidType(), [byte_ptr, i32, i32, i32])
        fn = cgutils.get_or_insert_function(  # type: ignore[no-untyped-call]
            builder.module, fn_type, _PREFETCH_NAME
        )
        # read access, high temporal locality, data cache
        builder.call(fn, [builder.bitcast(ptr, byte_ptr), i32(0), i32(3), i32(1)])
        return context.get_dummy_value()

    return signature, codegen


prefetch: Any = intrinsic(_prefetch_typer)
"""``prefetch(matrix, row, col)`` inside a numba function: a cache-line load hint."""
