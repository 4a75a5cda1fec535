import { NextRequest, NextResponse } from "next/server";
import { prisma } from "@/lib/prisma";

export async function GET(request: NextRequest) {
  const categoryId = request.nextUrl.searchParams.get("category");
  const products = await prisma.product.findMany({
    where: categoryId ? { categoryId } : undefined,
    orderBy: { createdAt: "desc" },
    take: 50,
    select: { id: true, title: true, priceCents: true, vendorId: true },
  });
  return NextResponse.json(products);
}
