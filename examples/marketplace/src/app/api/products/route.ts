import { NextRequest, NextResponse } from "next/server";
import { prisma } from "@/lib/prisma";

export async function GET(request: NextRequest) {
  const products = await prisma.product.findMany({
    take: 50,
    select: { id: true, title: true, priceCents: true, vendorId: true },
  });
  return NextResponse.json(products);
}
