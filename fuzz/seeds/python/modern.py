from __future__ import annotations
async def f[T](x: T) -> T:
    async with a as b:
        match x:
            case {'k': [1, *r]} if r:
                return f"{x!r:>{10}}"
    return await g(*x, **x)
lambda: (yield)
x = [i async for i in y if (j := i)]
