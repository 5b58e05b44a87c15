// The `express4` alias package (Express 4) has no typings of its own; its API is Express's.
declare module "express4" {
  import express from "express";
  export default express;
}
