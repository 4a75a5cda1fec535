import { NextRequest, NextResponse } from "next/server";
import { placeOrder } from "@/services/orders";
import { z } from "zod";

const body = z.object({
  customerId: z.string().uuid(),
  lines: z.array(z.object({ productId: z.string().uuid(), quantity: z.number().int().positive() })),
});

export async function POST(request: NextRequest) {
  const parsed = body.parse(await request.json());
  const order = await placeOrder(parsed.customerId, parsed.lines);
  return NextResponse.json(order, { status: 201 });
}
